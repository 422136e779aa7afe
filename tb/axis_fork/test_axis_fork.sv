// Thin wrapper for the axis_fork testbench: the two outputs as separate AXI-Stream ports
// (cocotbext-axi takes one bus per prefix, not a bit of a vector).
module test_axis_fork #(
  parameter int DATA_W = 8
) (
  input  logic              clk,
  input  logic              rst,
  input  logic [DATA_W-1:0] s_axis_tdata,
  input  logic              s_axis_tlast,
  input  logic              s_axis_tvalid,
  output logic              s_axis_tready,
  output logic [DATA_W-1:0] m0_axis_tdata,
  output logic              m0_axis_tlast,
  output logic              m0_axis_tvalid,
  input  logic              m0_axis_tready,
  output logic [DATA_W-1:0] m1_axis_tdata,
  output logic              m1_axis_tlast,
  output logic              m1_axis_tvalid,
  input  logic              m1_axis_tready
);
  logic [DATA_W-1:0] tdata;
  logic              tlast;
  axis_fork #(.DATA_W(DATA_W), .N(2)) u_fork (
    .clk, .rst, .s_axis_tdata, .s_axis_tlast, .s_axis_tvalid, .s_axis_tready,
    .m_axis_tdata(tdata), .m_axis_tlast(tlast),
    .m_axis_tvalid({m1_axis_tvalid, m0_axis_tvalid}), .m_axis_tready({m1_axis_tready, m0_axis_tready})
  );
  assign m0_axis_tdata = tdata;
  assign m1_axis_tdata = tdata;
  assign m0_axis_tlast = tlast;
  assign m1_axis_tlast = tlast;
endmodule
