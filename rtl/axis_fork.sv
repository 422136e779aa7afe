// axis_fork: one AXI4-Stream to N consumers, each with its own backpressure.
//
// Every input beat goes to every output exactly once: output i shows the beat (tvalid[i]) until
// it takes it, then not again; the input beat is retired once all outputs have taken it. An
// output that is ready takes the beat at once even while another stalls (independent
// backpressure), so the residual block's two branches run apart by as much as the skip FIFO
// behind one of them holds (model/cycles.py skip_depth).
// tdata and tlast are the input's, shared by all outputs (a broadcast needs no copy).
// No storage and no latency: m_axis_tvalid[i] = s_axis_tvalid && !done[i];
// s_axis_tready = every output has taken the beat or takes it now (combinational from
// m_axis_tready, so put a register stage behind it where timing needs one).
//
// Parameters:
//   DATA_W  width of tdata, >= 1
//   N       outputs, >= 2
module axis_fork #(
  parameter int DATA_W = 8,
  parameter int N      = 2
) (
  input  logic              clk,
  input  logic              rst,
  input  logic [DATA_W-1:0] s_axis_tdata,
  input  logic              s_axis_tlast,
  input  logic              s_axis_tvalid,
  output logic              s_axis_tready,
  output logic [DATA_W-1:0] m_axis_tdata,
  output logic              m_axis_tlast,
  output logic [N-1:0]      m_axis_tvalid,
  input  logic [N-1:0]      m_axis_tready
);
  if (DATA_W < 1 || N < 2) begin : g_bad_param
    $fatal(1, "axis_fork: need DATA_W >= 1 and N >= 2");
  end

  logic [N-1:0] done_q;  // outputs that already took the current input beat

  assign m_axis_tdata  = s_axis_tdata;
  assign m_axis_tlast  = s_axis_tlast;
  assign m_axis_tvalid = {N{s_axis_tvalid}} & ~done_q;
  assign s_axis_tready = &(done_q | m_axis_tready);

  always_ff @(posedge clk) begin
    if (rst || (s_axis_tvalid && s_axis_tready)) begin
      done_q <= '0;
    end else begin
      done_q <= done_q | (m_axis_tvalid & m_axis_tready);
    end
  end
endmodule
