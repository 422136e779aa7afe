// dsp_mul: a registered multiply, p = w * a two clocks after the operands (w signed, a
// unsigned), in the shape of an FPGA DSP block with its input and output registers on.
//
//   cycle t (en high): the operands are registered;  cycle t+1 (en high): their product is
//   registered and appears on p. With en low both registers hold.
//
// This is the portable description: Yosys packs the registers into the DSP block itself for
// Xilinx 7 (DSP48E1) and the iCE40 (SB_MAC16, 8 of 32 flip-flops left at 8x8). Its ECP5 flow
// does not, so it reads rtl/ecp5/dsp_mul.sv instead, this module on a MULT18X18D with its
// registers on: without them the multiplier sat between two fabric registers and the routing
// to and from the DSP row (7 of 11.5 ns) set tiny's fmax on the ECP5-25k (docs/synthesis.md).
//
// Parameters: W_BITS, A_BITS in 2..17 (the product's sign needs W_BITS + A_BITS bits).
module dsp_mul #(
  parameter int W_BITS = 8,
  parameter int A_BITS = 8
) (
  input  logic                            clk,
  input  logic                            en,
  input  logic        [W_BITS-1:0]        w,
  input  logic        [A_BITS-1:0]        a,
  output logic signed [W_BITS+A_BITS-1:0] p
);
  if (W_BITS < 2 || W_BITS > 17 || A_BITS < 2 || A_BITS > 17) begin : g_err
    $fatal(1, "dsp_mul: W_BITS (%0d) and A_BITS (%0d) must be 2..17", W_BITS, A_BITS);
  end

  logic [W_BITS-1:0] w_q;
  logic [A_BITS-1:0] a_q;
  always_ff @(posedge clk) begin
    if (en) begin
      w_q <= w;
      a_q <= a;
      // signed x unsigned: the activation gets a zero sign bit
      p   <= $signed(w_q) * $signed({1'b0, a_q});
    end
  end
endmodule
