// add_unit: the join of a residual block, elementwise, C lanes of 8 bits per beat.
//
//   y[c] = clamp((a[c] * MA + b[c] * MB + 2**(R-1)) >>> R, LO, HI)
//
// MA / 2**R and MB / 2**R are the ratios of the input scales to the output scale
// (model/quant.py add_multipliers): one shift aligns both. POW2 = 1: MA and MB are powers of
// two and the products are shifts (no multiplier). `>>>` is an arithmetic (floor) shift: one
// rounding, half up. LO = 0 is the ReLU after the Add. Lanes are int8 when SIGNED_x = 1 (a
// convolution with no activation: the residual branch), else uint8.
// A beat leaves when both inputs have one (tlast from input a); the inputs are taken together.
// s_a_axis_tready depends combinationally on s_b_axis_tvalid and m_axis_tready (and b on a);
// m_axis_* come from flip-flops. Latency 1 cycle, one beat per cycle.
//
// Parameters:
//   C                   lanes per beat, >= 1
//   SIGNED_A, SIGNED_B  1: that input's lanes are int8, 0: uint8
//   MA, MB              multipliers, 1 .. 2**16-1 (powers of two when POW2 = 1)
//   R                   shift, 1..40
//   POW2                1: shifts only
//   LO, HI              clamp, within 0..255 (uint8 out) or -128..127 (int8 out)
module add_unit #(
  parameter int C        = 4,
  parameter int SIGNED_A = 1,
  parameter int SIGNED_B = 0,
  parameter int MA       = 1,
  parameter int MB       = 1,
  parameter int R        = 1,
  parameter int POW2     = 0,
  parameter int LO       = 0,
  parameter int HI       = 255
) (
  input  logic           clk,
  input  logic           rst,
  input  logic [C*8-1:0] s_a_axis_tdata,
  input  logic           s_a_axis_tlast,
  input  logic           s_a_axis_tvalid,
  output logic           s_a_axis_tready,
  input  logic [C*8-1:0] s_b_axis_tdata,
  /* verilator lint_off UNUSEDSIGNAL */
  input  logic           s_b_axis_tlast,  // the frames are aligned: input a's tlast is used
  /* verilator lint_on UNUSEDSIGNAL */
  input  logic           s_b_axis_tvalid,
  output logic           s_b_axis_tready,
  output logic [C*8-1:0] m_axis_tdata,
  output logic           m_axis_tlast,
  output logic           m_axis_tvalid,
  input  logic           m_axis_tready
);
  localparam int KA = $clog2(MA);
  localparam int KB = $clog2(MB);
  if (C < 1 || MA < 1 || MB < 1 || MA >= 65536 || MB >= 65536 || R < 1 || R > 40) begin : g_bad_param
    $fatal(1, "add_unit: need C >= 1, MA and MB in 1..65535, R in 1..40");
  end
  if (POW2 != 0 && ((1 << KA) != MA || (1 << KB) != MB)) begin : g_bad_pow2
    $fatal(1, "add_unit: POW2 needs MA (%0d) and MB (%0d) to be powers of two", MA, MB);
  end
  if (!(LO < HI && ((LO >= 0 && HI <= 255) || (LO >= -128 && HI <= 127)))) begin : g_bad_clamp
    $fatal(1, "add_unit: need LO < HI within 0..255 or within -128..127");
  end

  localparam int SW = 64;  // 9-bit lanes times 16-bit multipliers, summed: far below 64 bits

  logic           out_valid_q, out_last_q;
  logic [C*8-1:0] out_q, y_d;

  wire out_free = !out_valid_q || m_axis_tready;
  wire fire     = s_a_axis_tvalid && s_b_axis_tvalid && out_free;

  assign s_a_axis_tready = s_b_axis_tvalid && out_free;
  assign s_b_axis_tready = s_a_axis_tvalid && out_free;
  assign m_axis_tvalid   = out_valid_q;
  assign m_axis_tdata    = out_q;
  assign m_axis_tlast    = out_last_q;

  always_comb begin
    logic signed [SW-1:0] a, b, sum, y;
    for (int c = 0; c < C; c++) begin
      a = SIGNED_A != 0 ? SW'($signed(s_a_axis_tdata[c*8 +: 8])) : SW'(s_a_axis_tdata[c*8 +: 8]);
      b = SIGNED_B != 0 ? SW'($signed(s_b_axis_tdata[c*8 +: 8])) : SW'(s_b_axis_tdata[c*8 +: 8]);
      if (POW2 != 0) sum = (a <<< KA) + (b <<< KB);
      else           sum = a * SW'(MA) + b * SW'(MB);
      y = (sum + (SW'(1) <<< (R - 1))) >>> R;
      if (y < SW'(LO))      y = SW'(LO);
      else if (y > SW'(HI)) y = SW'(HI);
      y_d[c*8 +: 8] = y[7:0];
    end
  end

  always_ff @(posedge clk) begin
    if (rst) begin
      out_valid_q <= 1'b0;
    end else if (out_free) begin
      out_valid_q <= fire;
    end
  end

  always_ff @(posedge clk) begin
    if (fire) begin
      out_q      <= y_d;
      out_last_q <= s_a_axis_tlast;
    end
  end
endmodule
