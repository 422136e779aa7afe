// stride_sel: keeps the beats of an H x W raster stream that lie on the stride grid.
//
// After window_gen, it turns the stride-1 windows of a convolution into those of stride S:
// the window at (y, x) is kept when y % S == 0 and x % S == 0, so the output is the
// ((H-1)/S + 1) x ((W-1)/S + 1) windows in raster order, m_axis_tlast on the last kept one
// (from the module's counters: s_axis_tlast is ignored, frames are exactly H*W beats). A 1x1
// convolution needs no window generator: stride_sel then picks pixels.
// No storage, no latency: a kept beat passes straight through (m_axis_tready -> s_axis_tready
// combinational), a dropped beat is taken at once.
//
// Parameters:
//   DATA_W  width of tdata, >= 1
//   H, W    beats per frame: rows and columns, >= 1
//   S       stride, >= 1
module stride_sel #(
  parameter int DATA_W = 8,
  parameter int H      = 28,
  parameter int W      = 28,
  parameter int S      = 2
) (
  input  logic              clk,
  input  logic              rst,
  input  logic [DATA_W-1:0] s_axis_tdata,
  /* verilator lint_off UNUSEDSIGNAL */
  input  logic              s_axis_tlast,  // ignored: positions come from the counters
  /* verilator lint_on UNUSEDSIGNAL */
  input  logic              s_axis_tvalid,
  output logic              s_axis_tready,
  output logic [DATA_W-1:0] m_axis_tdata,
  output logic              m_axis_tlast,
  output logic              m_axis_tvalid,
  input  logic              m_axis_tready
);
  if (DATA_W < 1 || H < 1 || W < 1 || S < 1) begin : g_bad_param
    $fatal(1, "stride_sel: DATA_W, H, W, S must be >= 1");
  end

  localparam int YW = (H > 1) ? $clog2(H) : 1;
  localparam int XW = (W > 1) ? $clog2(W) : 1;
  localparam int SW = (S > 1) ? $clog2(S) : 1;

  // Position (y, x) and its phase on the grid (y % S, x % S), counted without a divider.
  logic [YW-1:0] y_q;
  logic [XW-1:0] x_q;
  logic [SW-1:0] py_q, px_q;

  wire keep    = (py_q == '0) && (px_q == '0);
  wire row_end = x_q == XW'(W - 1);
  assign m_axis_tdata  = s_axis_tdata;
  assign m_axis_tvalid = s_axis_tvalid && keep;
  assign m_axis_tlast  = (y_q == YW'((H - 1) / S * S)) && (x_q == XW'((W - 1) / S * S));
  assign s_axis_tready = !keep || m_axis_tready;

  always_ff @(posedge clk) begin
    if (rst) begin
      y_q  <= '0;
      x_q  <= '0;
      py_q <= '0;
      px_q <= '0;
    end else if (s_axis_tvalid && s_axis_tready) begin
      x_q  <= row_end ? '0 : x_q + 1'b1;
      px_q <= (row_end || px_q == SW'(S - 1)) ? '0 : px_q + 1'b1;
      if (row_end) begin
        y_q  <= (y_q == YW'(H - 1)) ? '0 : y_q + 1'b1;
        py_q <= (y_q == YW'(H - 1) || py_q == SW'(S - 1)) ? '0 : py_q + 1'b1;
      end
    end
  end
endmodule
