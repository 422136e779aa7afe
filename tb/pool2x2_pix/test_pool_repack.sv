// Wrapper for the pool2x2_pix -> pix_repack testbench: the pooled beats (0 .. PIX/2 kept lanes)
// repacked into full beats of N_OUT pooled pixels, as the engine chains them (N_IN = PIX/2).
module test_pool_repack #(
  parameter int H     = 28,
  parameter int W     = 28,
  parameter int C     = 1,
  parameter int DW    = 8,
  parameter int MODE  = 0,
  parameter int PIX   = 8,
  parameter int N_OUT = 2
) (
  input  logic                    clk,
  input  logic                    rst,
  input  logic [PIX*C*DW-1:0]     s_axis_tdata,
  input  logic                    s_axis_tlast,
  input  logic                    s_axis_tvalid,
  output logic                    s_axis_tready,
  output logic [N_OUT*C*DW-1:0]   m_axis_tdata,
  output logic                    m_axis_tlast,
  output logic                    m_axis_tvalid,
  input  logic                    m_axis_tready
);
  logic [(PIX/2)*C*DW-1:0] p_tdata;
  logic [PIX/2-1:0]        p_tkeep;
  logic                    p_tlast, p_tvalid, p_tready;

  pool2x2_pix #(.H(H), .W(W), .C(C), .DW(DW), .MODE(MODE), .PIX(PIX)) u_pool (
    .clk, .rst, .s_axis_tdata, .s_axis_tlast, .s_axis_tvalid, .s_axis_tready,
    .m_axis_tdata(p_tdata), .m_axis_tkeep(p_tkeep), .m_axis_tlast(p_tlast),
    .m_axis_tvalid(p_tvalid), .m_axis_tready(p_tready)
  );

  pix_repack #(.LANE_W(C*DW), .N_IN(PIX/2), .N_OUT(N_OUT)) u_repack (
    .clk, .rst, .s_axis_tdata(p_tdata), .s_axis_tkeep(p_tkeep), .s_axis_tlast(p_tlast),
    .s_axis_tvalid(p_tvalid), .s_axis_tready(p_tready),
    .m_axis_tdata, .m_axis_tlast, .m_axis_tvalid, .m_axis_tready
  );
endmodule
