// axis_gather: N consecutive input beats of DATA_W bits -> one output beat of N*DATA_W bits.
//
// Input beat i of a group (i = 0 .. N-1) lands at m_axis_tdata[i*DATA_W +: DATA_W];
// m_axis_tlast is the s_axis_tlast of the group's N-th beat. The inverse of sending a wide
// word one lane group per beat: for a consumer that wants all lanes at once.
//
// Storage: beats 0 .. N-2 of the group being collected ((N-1)*DATA_W flip-flops) and the
// output register (N*DATA_W + 2). The N-th beat goes straight from s_axis_tdata into the
// output register together with the first N-1, so the collector is free again at once.
// Throughput: one input beat per cycle sustained, one output beat per N cycles, no bubble
// per group while m_axis_tready is high (N >= 2: the output register is loaded once every N
// cycles and drains in the cycle after). Latency: 1 cycle from the N-th beat's handshake to
// m_axis_tvalid. All m_axis_* and s_axis_tready come from flip-flops: the N-th beat waits
// while the output register is full (no combinational m_axis_tready -> s_axis_tready path),
// beats 0 .. N-2 of the next group are still taken meanwhile.
//
// Early TLAST: a beat with s_axis_tlast that is beat k < N-1 of its group closes the group.
// The missing lanes k+1 .. N-1 are filled with zeros, one lane per cycle with s_axis_tready
// low (N-1-k cycles), and the group leaves with m_axis_tlast = 1; the next beat starts a new
// group at lane 0, so framing resynchronises at every TLAST.
//
// N = 1: plain wires (m_axis_* = s_axis_*, s_axis_tready = m_axis_tready), no storage.
//
// Parameters:
//   DATA_W  width of an input beat (>= 1)
//   N       input beats per output beat (>= 1)
module axis_gather #(
  parameter int DATA_W = 8,
  parameter int N      = 4
) (
  input  logic                clk,
  input  logic                rst,
  input  logic [DATA_W-1:0]   s_axis_tdata,
  input  logic                s_axis_tlast,
  input  logic                s_axis_tvalid,
  output logic                s_axis_tready,
  output logic [N*DATA_W-1:0] m_axis_tdata,
  output logic                m_axis_tlast,
  output logic                m_axis_tvalid,
  input  logic                m_axis_tready
);
  if (DATA_W < 1 || N < 1) begin : g_bad_params
    $fatal(1, "axis_gather: DATA_W and N must be >= 1");
  end

  if (N == 1) begin : g_wire
    assign m_axis_tdata  = s_axis_tdata;
    assign m_axis_tlast  = s_axis_tlast;
    assign m_axis_tvalid = s_axis_tvalid;
    assign s_axis_tready = m_axis_tready;

    logic unused_clk_rst;
    assign unused_clk_rst = ^{clk, rst};
  end else begin : g_gather
    localparam int CNT_W = $clog2(N);

    logic [(N-1)*DATA_W-1:0]  acc_q;       // beats 0 .. N-2 of the group, beat i at [i*DATA_W +: DATA_W]
    logic [CNT_W-1:0]         cnt_q;       // lane the next beat goes to
    logic                     pad_q;       // after an early TLAST: filling lanes with zeros
    logic [N*DATA_W-1:0]      out_data_q;
    logic                     out_last_q, out_valid_q;

    wire at_last = (cnt_q == CNT_W'(N - 1));
    // A lane is filled this cycle (by an input beat or a pad zero) unless it is the N-th
    // and the output register is still full.
    wire room    = !(at_last && out_valid_q);
    wire step    = room && (pad_q || s_axis_tvalid);
    wire in_fire = s_axis_tvalid && s_axis_tready;

    logic [DATA_W-1:0] lane_data;
    assign lane_data = pad_q ? '0 : s_axis_tdata;

    // Next state. s_axis_tready (= room && !pad_q) is registered from it, so the upstream
    // ready path starts at a flip-flop instead of the lane counter's compare.
    logic [CNT_W-1:0] cnt_d;
    logic             pad_d, out_valid_d, ready_q;
    always_comb begin
      cnt_d       = cnt_q;
      pad_d       = pad_q;
      out_valid_d = out_valid_q && !m_axis_tready;
      if (step) begin
        if (at_last) begin
          cnt_d       = '0;
          pad_d       = 1'b0;
          out_valid_d = 1'b1;  // room: the register was empty or is being emptied
        end else begin
          cnt_d = cnt_q + 1'b1;
          if (in_fire && s_axis_tlast) begin
            pad_d = 1'b1;
          end
        end
      end
    end

    assign s_axis_tready = ready_q;
    assign m_axis_tdata  = out_data_q;
    assign m_axis_tlast  = out_last_q;
    assign m_axis_tvalid = out_valid_q;

    always_ff @(posedge clk) begin
      if (rst) begin
        cnt_q       <= '0;
        pad_q       <= 1'b0;
        out_valid_q <= 1'b0;
        ready_q     <= 1'b1;
      end else begin
        cnt_q       <= cnt_d;
        pad_q       <= pad_d;
        out_valid_q <= out_valid_d;
        ready_q     <= !(cnt_d == CNT_W'(N - 1) && out_valid_d) && !pad_d;
      end
    end

    always_ff @(posedge clk) begin
      for (int i = 0; i < N - 1; i++) begin
        if (step && cnt_q == CNT_W'(i)) begin
          acc_q[i*DATA_W +: DATA_W] <= lane_data;
        end
      end
      if (step && at_last) begin
        out_data_q <= {lane_data, acc_q};
        out_last_q <= pad_q || s_axis_tlast;
      end
    end
  end
endmodule
