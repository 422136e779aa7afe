// pix_repack: pixel gearbox. Repacks a stream of N_IN pixel lanes per beat (a kept count per
// beat) into full beats of N_OUT pixels, stream order kept. Up- and down-sizing, any
// N_IN, N_OUT >= 1.
//
// Streams:
//   s_axis: pixel lane k at s_axis_tdata[k*LANE_W +: LANE_W]; s_axis_tkeep has one bit per
//           PIXEL lane (not per byte), kept lanes contiguous from lane 0 (the module uses the
//           number of set bits as the count: lanes 0 .. count-1). A beat may keep no lane; it
//           carries nothing, but its tlast still ends the frame. s_axis_tlast: the frame's
//           last pixel is in (or before, for a 0-lane beat) this beat.
//   m_axis: N_OUT consecutive pixels per beat, lane j at [j*LANE_W +: LANE_W]; m_axis_tlast on
//           the beat holding the frame's last pixel. A frame whose pixel count is not a
//           multiple of N_OUT ends with a partial beat padded with zero lanes (the engine's
//           frames are multiples, so it never pads). A frame with no kept pixel at all gives
//           no output beat.
//
// Structure: a buffer of B = N_OUT * (1 + ceil(N_IN / N_OUT)) lanes with a fill count; lanes
// 0 .. N_OUT-1 are m_axis_tdata (flip-flops), a beat leaves by shifting the buffer down N_OUT
// lanes, an input beat is written at the fill count. At a tlast the count is rounded up to a
// multiple of N_OUT (the zero padding) and that group is flagged as a frame end; frame ends are
// thus always group-aligned and the output shift is a constant N_OUT lanes.
// A full group is sent only once it is known whether it ends the frame: when a later pixel is
// in the buffer or its frame-end flag is set. Without that hold-back a frame that ends with a
// 0-lane tlast beat would have had its last pixel sent already without tlast.
//
// Timing: m_axis_tvalid/tdata/tlast come from flip-flops. Latency 1 cycle: an output beat is
// valid the cycle after the input beat that completes it and brings the next pixel or the
// frame's tlast (a group whose last pixel is the newest pixel of an unfinished frame waits for
// the next input beat that keeps a lane or has tlast). Throughput: one output beat per cycle;
// s_axis_tready = "at most N_OUT lanes left after this cycle's output beat", so one input beat
// per cycle while the beats keep <= N_OUT lanes on average (always, when every beat keeps
// <= N_OUT) and the output is not stalled; full beats with N_IN > N_OUT go in at N_OUT/N_IN
// beats per cycle (4 -> 2: one input beat every 2 cycles). s_axis_tready depends
// combinationally on m_axis_tready (one LUT: two registered compares of the count).
//
// Parameters:
//   LANE_W  bits per pixel lane, >= 1
//   N_IN    pixel lanes per input beat, >= 1
//   N_OUT   pixel lanes per output beat, >= 1
//   IN_FIFO input beats buffered in front (an axis_fifo of {tkeep, tdata}; 0: none, 2 or more:
//           a power of two). Bursts of more than N_OUT kept lanes per beat (pool2x2_pix on an
//           odd row: PIX/2 pooled pixels a beat, none on the even rows) otherwise stall the
//           stage before at N_OUT/kept beats per cycle: tiny at PIX=8 measured II 112 without
//           it, for 98 beats of input. Adds 1 cycle of latency (the FIFO's).
module pix_repack #(
  parameter int LANE_W  = 8,
  parameter int N_IN    = 4,
  parameter int N_OUT   = 2,
  parameter int IN_FIFO = 0
) (
  input  logic                    clk,
  input  logic                    rst,
  input  logic [N_IN*LANE_W-1:0]  s_axis_tdata,
  input  logic [N_IN-1:0]         s_axis_tkeep,
  input  logic                    s_axis_tlast,
  input  logic                    s_axis_tvalid,
  output logic                    s_axis_tready,
  output logic [N_OUT*LANE_W-1:0] m_axis_tdata,
  output logic                    m_axis_tlast,
  output logic                    m_axis_tvalid,
  input  logic                    m_axis_tready
);
  if (LANE_W < 1) begin : g_bad_lane_w
    $fatal(1, "pix_repack: LANE_W must be >= 1");
  end
  if (N_IN < 1 || N_OUT < 1) begin : g_bad_n
    $fatal(1, "pix_repack: N_IN and N_OUT must be >= 1");
  end

  localparam int G  = 1 + (N_IN + N_OUT - 1) / N_OUT;  // groups of N_OUT lanes in the buffer
  localparam int B  = G * N_OUT;                        // buffer lanes
  localparam int CW = $clog2(B + 1);                    // fill count 0 .. B
  localparam int KW = $clog2(N_IN + 1);                 // kept lanes 0 .. N_IN

  logic [B*LANE_W-1:0] buf_q, buf_d;
  logic [G-1:0]        end_q, end_d;    // group g is the last of a frame (padded if partial)
  logic [CW-1:0]       cnt_q, cnt_d;
  logic                valid_q, valid_d;
  // Registered compares of the count: ready without a pop, ready with one.
  logic                room_q, room_pop_q;

  assign m_axis_tdata  = buf_q[N_OUT*LANE_W-1:0];
  assign m_axis_tlast  = end_q[0];
  assign m_axis_tvalid = valid_q;

  // The input, straight or through the burst FIFO.
  logic [N_IN*LANE_W-1:0] in_tdata;
  logic [N_IN-1:0]        in_tkeep;
  logic                   in_tlast, in_tvalid, in_tready;
  if (IN_FIFO > 0) begin : g_in_fifo
    axis_fifo #(
      .DATA_W(N_IN + N_IN * LANE_W),
      .DEPTH (IN_FIFO)
    ) u_in_fifo (
      .clk, .rst,
      .s_axis_tdata({s_axis_tkeep, s_axis_tdata}), .s_axis_tlast,
      .s_axis_tvalid, .s_axis_tready,
      .m_axis_tdata({in_tkeep, in_tdata}), .m_axis_tlast(in_tlast),
      .m_axis_tvalid(in_tvalid), .m_axis_tready(in_tready)
    );
  end else begin : g_no_fifo
    assign {in_tkeep, in_tdata, in_tlast, in_tvalid} = {s_axis_tkeep, s_axis_tdata, s_axis_tlast, s_axis_tvalid};
    assign s_axis_tready = in_tready;
  end

  wire pop = valid_q && m_axis_tready;
  // After this cycle's pop at most N_OUT lanes remain: room for N_IN more plus the padding.
  assign in_tready = room_q || (pop && room_pop_q);
  wire in_fire = in_tvalid && in_tready;

  logic [KW-1:0] keep_n;
  always_comb begin
    keep_n = '0;
    for (int i = 0; i < N_IN; i++) keep_n = keep_n + KW'(in_tkeep[i]);
  end

  always_comb begin
    int base, sum;
    buf_d = buf_q;
    end_d = end_q;
    base  = int'(cnt_q);
    if (pop) begin
      buf_d = buf_q >> (N_OUT * LANE_W);
      end_d = end_q >> 1;
      base  = int'(cnt_q) - N_OUT;
    end
    sum = base;
    if (in_fire) begin
      sum = base + int'(keep_n);
      // Lanes from the fill point up are cleared: the padding of a partial last group.
      for (int j = 0; j < B; j++) begin
        if (j >= base) buf_d[j*LANE_W +: LANE_W] = '0;
      end
      for (int i = 0; i < N_IN; i++) begin
        if (i < int'(keep_n)) buf_d[(base + i)*LANE_W +: LANE_W] = in_tdata[i*LANE_W +: LANE_W];
      end
      if (in_tlast) begin
        // Round up to whole groups; sum == 0 (a frame with no pixel) changes nothing.
        for (int g = 0; g < G; g++) begin
          if (sum > g * N_OUT && sum <= (g + 1) * N_OUT) begin
            sum      = (g + 1) * N_OUT;
            end_d[g] = 1'b1;
          end
        end
      end
    end
    cnt_d   = CW'(sum);
    // Group 0 may leave once full and known to be (or not be) a frame end.
    valid_d = (sum > N_OUT) || (sum == N_OUT && end_d[0]);
  end

  always_ff @(posedge clk) begin
    if (rst) begin
      cnt_q      <= '0;
      end_q      <= '0;
      valid_q    <= 1'b0;
      room_q     <= 1'b1;
      room_pop_q <= 1'b1;
    end else begin
      cnt_q      <= cnt_d;
      end_q      <= end_d;
      valid_q    <= valid_d;
      room_q     <= int'(cnt_d) <= N_OUT;
      room_pop_q <= int'(cnt_d) <= 2 * N_OUT;
    end
  end

  always_ff @(posedge clk) begin
    buf_q <= buf_d;
  end
endmodule
