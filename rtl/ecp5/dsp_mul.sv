// dsp_mul for the Lattice ECP5: rtl/dsp_mul.sv (same ports, same cycles) on one MULT18X18D
// with its input registers (A, B) and output register on, clocked by clk and enabled by en.
// syn/report.py reads this file in place of rtl/dsp_mul.sv for ECP5 synthesis, whose Yosys
// flow maps a `*` to a bare MULT18X18D and leaves the registers around it in the fabric.
// Simulated against rtl/dsp_mul.sv's contract by tb/dsp_mul (with tb/dsp_mul/MULT18X18D.sv,
// a model of the modes used here).
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

  // both operands as 18-bit signed: the weight sign-extended, the activation zero-extended
  wire [17:0] a18 = 18'($signed(w));
  wire [17:0] b18 = 18'(a);
  wire [35:0] p36;
  assign p = p36[W_BITS+A_BITS-1:0];
  wire unused_high = ^p36[35:W_BITS+A_BITS];  // sign copies: the product fits W_BITS + A_BITS

  MULT18X18D #(
    .REG_INPUTA_CLK("CLK0"),
    .REG_INPUTA_CE ("CE0"),
    .REG_INPUTB_CLK("CLK0"),
    .REG_INPUTB_CE ("CE0"),
    .REG_OUTPUT_CLK("CLK0"),
    .REG_OUTPUT_CE ("CE0"),
    .GSR           ("DISABLED")
  ) u_mult (
    .A0(a18[0]), .A1(a18[1]), .A2(a18[2]), .A3(a18[3]), .A4(a18[4]), .A5(a18[5]),
    .A6(a18[6]), .A7(a18[7]), .A8(a18[8]), .A9(a18[9]), .A10(a18[10]), .A11(a18[11]),
    .A12(a18[12]), .A13(a18[13]), .A14(a18[14]), .A15(a18[15]), .A16(a18[16]), .A17(a18[17]),
    .B0(b18[0]), .B1(b18[1]), .B2(b18[2]), .B3(b18[3]), .B4(b18[4]), .B5(b18[5]),
    .B6(b18[6]), .B7(b18[7]), .B8(b18[8]), .B9(b18[9]), .B10(b18[10]), .B11(b18[11]),
    .B12(b18[12]), .B13(b18[13]), .B14(b18[14]), .B15(b18[15]), .B16(b18[16]), .B17(b18[17]),
    .SIGNEDA(1'b1), .SIGNEDB(1'b1), .SOURCEA(1'b0), .SOURCEB(1'b0),
    .CLK0(clk), .CE0(en), .RST0(1'b0),
    .P0(p36[0]), .P1(p36[1]), .P2(p36[2]), .P3(p36[3]), .P4(p36[4]), .P5(p36[5]),
    .P6(p36[6]), .P7(p36[7]), .P8(p36[8]), .P9(p36[9]), .P10(p36[10]), .P11(p36[11]),
    .P12(p36[12]), .P13(p36[13]), .P14(p36[14]), .P15(p36[15]), .P16(p36[16]), .P17(p36[17]),
    .P18(p36[18]), .P19(p36[19]), .P20(p36[20]), .P21(p36[21]), .P22(p36[22]), .P23(p36[23]),
    .P24(p36[24]), .P25(p36[25]), .P26(p36[26]), .P27(p36[27]), .P28(p36[28]), .P29(p36[29]),
    .P30(p36[30]), .P31(p36[31]), .P32(p36[32]), .P33(p36[33]), .P34(p36[34]), .P35(p36[35])
  );
endmodule
