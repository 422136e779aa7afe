// Simulation model of the Lattice ECP5 MULT18X18D for the modes rtl/ecp5/dsp_mul.sv uses
// (tb/dsp_mul runs that file on it): 18 x 18 multiply, signed per SIGNEDA / SIGNEDB, input
// registers A and B and the output register each either off ("NONE") or on CLK0 / CE0 with a
// synchronous RST0; no pipeline register, no cascade, no C input. Other settings stop the
// simulation. The ports are the subset dsp_mul connects; the primitive has more.
// Written for this project from the primitive's documented parameters, not a vendor model.
module MULT18X18D #(
  parameter REG_INPUTA_CLK   = "NONE",
  parameter REG_INPUTA_CE    = "CE0",
  parameter REG_INPUTB_CLK   = "NONE",
  parameter REG_INPUTB_CE    = "CE0",
  parameter REG_OUTPUT_CLK   = "NONE",
  parameter REG_OUTPUT_CE    = "CE0",
  parameter REG_PIPELINE_CLK = "NONE",
  parameter GSR              = "ENABLED"
) (
  input  A0, A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12, A13, A14, A15, A16, A17,
  input  B0, B1, B2, B3, B4, B5, B6, B7, B8, B9, B10, B11, B12, B13, B14, B15, B16, B17,
  input  SIGNEDA, SIGNEDB, SOURCEA, SOURCEB,
  input  CLK0, CE0, RST0,
  output P0, P1, P2, P3, P4, P5, P6, P7, P8, P9, P10, P11, P12, P13, P14, P15, P16, P17, P18,
  P19, P20, P21, P22, P23, P24, P25, P26, P27, P28, P29, P30, P31, P32, P33, P34, P35
);
  if (!(REG_INPUTA_CLK inside {"NONE", "CLK0"}) || !(REG_INPUTB_CLK inside {"NONE", "CLK0"})
      || !(REG_OUTPUT_CLK inside {"NONE", "CLK0"}) || REG_PIPELINE_CLK != "NONE"
      || REG_INPUTA_CE != "CE0" || REG_INPUTB_CE != "CE0" || REG_OUTPUT_CE != "CE0")
  begin : g_err
    $fatal(1, "MULT18X18D model: only NONE or CLK0/CE0 input and output registers are modelled");
  end

  wire [17:0] a_in = {A17, A16, A15, A14, A13, A12, A11, A10, A9, A8, A7, A6, A5, A4, A3, A2, A1, A0};
  wire [17:0] b_in = {B17, B16, B15, B14, B13, B12, B11, B10, B9, B8, B7, B6, B5, B4, B3, B2, B1, B0};
  logic [17:0] a_q, b_q;
  logic [35:0] p_q;
  wire  [17:0] a_op = (REG_INPUTA_CLK == "CLK0") ? a_q : a_in;
  wire  [17:0] b_op = (REG_INPUTB_CLK == "CLK0") ? b_q : b_in;
  wire  [35:0] prod = 36'($signed({SIGNEDA & a_op[17], a_op}) * $signed({SIGNEDB & b_op[17], b_op}));
  always_ff @(posedge CLK0) begin
    if (RST0) begin
      a_q <= '0;
      b_q <= '0;
      p_q <= '0;
    end else if (CE0) begin
      a_q <= a_in;
      b_q <= b_in;
      p_q <= prod;
    end
  end
  assign {P35, P34, P33, P32, P31, P30, P29, P28, P27, P26, P25, P24, P23, P22, P21, P20, P19, P18, P17, P16, P15, P14, P13, P12, P11, P10, P9, P8, P7, P6, P5, P4, P3, P2, P1, P0} = (REG_OUTPUT_CLK == "CLK0") ? p_q : prod;

  wire unused = SOURCEA ^ SOURCEB ^ (GSR == "ENABLED");
endmodule
