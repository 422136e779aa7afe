// frame_sanitizer: makes every input frame exactly N_BEATS beats long.
//
// The engine's layer modules count pixels instead of trusting TLAST, so a malformed frame
// must never reach them. This module is the single place that looks at the input TLAST:
//   - TLAST on beat N_BEATS:     the frame passes unchanged, flag 0.
//   - TLAST early (short frame): the beats pass, the rest is padded with zeros, flag 1.
//   - no TLAST on beat N_BEATS (long frame): N_BEATS beats pass, the surplus up to and
//     including the next TLAST is dropped, flag 1.
//   - a null byte (TKEEP bit 0) in any of the frame's first N_BEATS beats: flag 1, and the
//     null lanes leave as zeros (the lanes after the end of a 783-pixel frame sent 8 per beat,
//     for instance). TKEEP of dropped surplus beats is ignored.
// Either way exactly one N_BEATS frame comes out per input frame, and the engine is back in
// step on the next frame. One flag per frame leaves on m_flag_* when the input frame has
// ended (after its TLAST), in frame order.
//
// Parameters: N_BEATS beats per frame, DATA_W beat width, LANES byte lanes per beat (TKEEP
// bits; each lane DATA_W/LANES bits, LANES divides DATA_W). The output has no TKEEP: every
// output lane is valid.
// Latency 1 cycle; one beat per cycle; padding costs one cycle per missing beat, dropping
// one cycle per surplus beat. The output register has a skid register behind it (a beat
// produced while the output stalls waits there), so s_axis_tready comes from flip-flops
// only: no combinational path from m_axis_tready (the downstream window generator's ready
// chain ran through here into the input handshake on the UP5K's critical path).
module frame_sanitizer #(
  parameter int N_BEATS = 784,
  parameter int DATA_W  = 8,
  parameter int LANES   = 1
) (
  input  logic              clk,
  input  logic              rst,
  input  logic [DATA_W-1:0] s_axis_tdata,
  input  logic [LANES-1:0]  s_axis_tkeep,
  input  logic              s_axis_tlast,
  input  logic              s_axis_tvalid,
  output logic              s_axis_tready,
  output logic [DATA_W-1:0] m_axis_tdata,
  output logic              m_axis_tlast,
  output logic              m_axis_tvalid,
  input  logic              m_axis_tready,
  // One flag per frame: 1 = the input frame was malformed (short, long or a null byte).
  output logic              m_flag_tdata,
  output logic              m_flag_tvalid,
  input  logic              m_flag_tready
);
  localparam int CNT_W  = $clog2(N_BEATS + 1);
  localparam int LANE_W = DATA_W / LANES;

  if (N_BEATS < 1 || DATA_W < 1 || LANES < 1) begin : g_err_pos
    $fatal(1, "frame_sanitizer: N_BEATS, DATA_W, LANES must be >= 1");
  end
  if (DATA_W % LANES != 0) begin : g_err_lanes
    $fatal(1, "frame_sanitizer: LANES (%0d) must divide DATA_W (%0d)", LANES, DATA_W);
  end

  typedef enum logic [1:0] {PASS, PAD, DROP} mode_e;

  mode_e             mode_q, mode_d;
  logic [CNT_W-1:0]  count_q, count_d;       // beats sent of the current frame
  logic [DATA_W-1:0] out_data_q, out_data_d;
  logic              out_last_q, out_last_d, out_valid_q, out_valid_d;
  logic [DATA_W-1:0] skid_data_q, skid_data_d;    // a beat produced while the output stalled
  logic              skid_last_q, skid_last_d, skid_valid_q, skid_valid_d;
  logic              gen, gen_last;               // a beat is produced this cycle
  logic [DATA_W-1:0] gen_data;
  logic              flag_q, flag_d, flag_valid_q, flag_valid_d;
  logic              null_q, null_d;             // a beat of this frame had a null byte

  assign m_axis_tdata  = out_data_q;
  assign m_axis_tlast  = out_last_q;
  assign m_axis_tvalid = out_valid_q;
  assign m_flag_tdata  = flag_q;
  assign m_flag_tvalid = flag_valid_q;

  wire out_free  = !out_valid_q || m_axis_tready;
  wire room      = !skid_valid_q;                 // a produced beat has a place to go
  wire flag_free = !flag_valid_q || m_flag_tready;
  wire last_beat = (count_q == CNT_W'(N_BEATS - 1));

  // Input is taken when it can be placed: into the output or skid register (PASS), or dropped
  // (DROP). Any beat may end the frame, so the flag register must have room too; it empties
  // into the engine's flag FIFO, so this costs nothing in practice.
  // take_q: the mode takes input if the flag register has room (PASS with room for the beat,
  // or DROP), a flip-flop from the next state, so that s_axis_tready is one LUT of flip-flops.
  logic take_q;
  always_comb begin
    s_axis_tready = take_q && flag_free;
    if (rst) s_axis_tready = 1'b0;  // a beat offered during reset is not taken, not lost
  end

  wire in_fire = s_axis_tvalid && s_axis_tready;
  wire keep_all = &s_axis_tkeep;

  // Null byte lanes leave as zeros, like the padding of a short frame.
  logic [DATA_W-1:0] kept_data;
  always_comb begin
    for (int l = 0; l < LANES; l++) begin
      kept_data[l*LANE_W +: LANE_W] = s_axis_tkeep[l] ? s_axis_tdata[l*LANE_W +: LANE_W] : '0;
    end
  end

  always_comb begin
    mode_d       = mode_q;
    count_d      = count_q;
    flag_d       = flag_q;
    flag_valid_d = flag_valid_q && !m_flag_tready;
    null_d       = null_q;
    gen          = 1'b0;
    gen_data     = kept_data;
    gen_last     = last_beat;

    unique case (mode_q)
      PASS: if (in_fire) begin
        gen     = 1'b1;
        count_d = last_beat ? '0 : count_q + 1'b1;
        null_d  = null_q || !keep_all;
        if (last_beat && s_axis_tlast) begin
          flag_d = null_d;  flag_valid_d = 1'b1;                   // right length
        end else if (last_beat) begin
          mode_d = DROP;                                           // long frame
        end else if (s_axis_tlast) begin
          flag_d = 1'b1;  flag_valid_d = 1'b1;  mode_d = PAD;      // short frame
        end
        if (s_axis_tlast) null_d = 1'b0;                           // frame ended: flag set
      end
      PAD: if (room) begin
        gen      = 1'b1;
        gen_data = '0;
        count_d  = last_beat ? '0 : count_q + 1'b1;
        if (last_beat) mode_d = PASS;
      end
      DROP: if (in_fire && s_axis_tlast) begin
        flag_d = 1'b1;  flag_valid_d = 1'b1;  mode_d = PASS;  null_d = 1'b0;
      end
      default: mode_d = PASS;
    endcase

    // Output register, skid register behind it (a produced beat needs room: gen -> !skid_valid_q).
    out_data_d   = out_data_q;
    out_last_d   = out_last_q;
    out_valid_d  = out_valid_q;
    skid_data_d  = skid_data_q;
    skid_last_d  = skid_last_q;
    skid_valid_d = skid_valid_q;
    if (out_free) begin
      out_valid_d  = skid_valid_q || gen;
      out_data_d   = skid_valid_q ? skid_data_q : gen_data;
      out_last_d   = skid_valid_q ? skid_last_q : gen_last;
      skid_valid_d = 1'b0;
    end else if (gen) begin
      skid_valid_d = 1'b1;
      skid_data_d  = gen_data;
      skid_last_d  = gen_last;
    end
  end

  // The skid register's data is read only while skid_valid_q: no reset.
  always_ff @(posedge clk) begin
    skid_data_q <= skid_data_d;
    skid_last_q <= skid_last_d;
  end

  always_ff @(posedge clk) begin
    if (rst) begin
      mode_q       <= PASS;
      take_q       <= 1'b1;
      count_q      <= '0;
      out_valid_q  <= 1'b0;
      skid_valid_q <= 1'b0;
      flag_valid_q <= 1'b0;
      out_data_q   <= '0;
      out_last_q   <= 1'b0;
      flag_q       <= 1'b0;
      null_q       <= 1'b0;
    end else begin
      mode_q       <= mode_d;
      take_q       <= (mode_d == PASS && !skid_valid_d) || mode_d == DROP;
      count_q      <= count_d;
      out_valid_q  <= out_valid_d;
      skid_valid_q <= skid_valid_d;
      flag_valid_q <= flag_valid_d;
      out_data_q   <= out_data_d;
      out_last_q   <= out_last_d;
      flag_q       <= flag_d;
      null_q       <= null_d;
    end
  end
endmodule
