// pool2x2: 2x2 stride-2 pooling of a raster stream of H x W pixels, C unsigned DW-bit lanes
// per beat (DW = 8: uint8, the default).
//
//   MODE 0: max(a, b, c, d)        MODE 1: (a + b + c + d + 2) >> 2
//
// Low-bit streams (docs/rtl-library.md, "Low-bit arithmetic contract"): an unsigned a-bit
// activation stream pools with DW = a. On a bipolar stream (DW = 1, bit 1 = +1, bit 0 = -1)
// MODE 0 is the OR of the four bits, which is the max of the bipolar values; MODE 1 (average)
// has no bipolar meaning (it rounds the unsigned bit average) and is not meant for it.
//
// Odd H / W drop the last row / column (floor mode): those pixels are consumed and ignored.
// Each frame gives (H/2) x (W/2) output pixels in raster order, tlast on the last one, from
// the module's own counters (s_axis_tlast is ignored: frames are exactly H*W pixels).
// On the even row of a window pair, horizontal pairs are combined (max, or the 9-bit sum)
// and stored in a line buffer of W/2 entries (one write port, one registered read port:
// block-RAM friendly); on the odd row the stored pair is read one pixel ahead and combined
// with the new pair.
// Throughput: one input pixel per cycle (s_axis_tready stays high while the output moves);
// cycles per output: 4 for even H, W (H*W / ((H/2)*(W/2)) in general). Latency: 1 cycle
// from the window's bottom-right pixel to m_axis_tvalid. s_axis_tready depends
// combinationally on m_axis_tready (only on pixels that complete a window); m_axis_* come
// from flip-flops.
//
// Lanes: channel c at [c*DW +: DW] in and out.
//
// Parameters:
//   H, W   input frame height and width, >= 2
//   C      channels per pixel, >= 1
//   DW     lane width (bits, unsigned), >= 1; default 8
//   MODE   0 = max, 1 = average
module pool2x2 #(
  parameter int H    = 28,
  parameter int W    = 28,
  parameter int C    = 1,
  parameter int DW   = 8,
  parameter int MODE = 0
) (
  input  logic            clk,
  input  logic            rst,
  input  logic [C*DW-1:0] s_axis_tdata,
  /* verilator lint_off UNUSEDSIGNAL */
  input  logic            s_axis_tlast,   // ignored: positions come from the counters
  /* verilator lint_on UNUSEDSIGNAL */
  input  logic            s_axis_tvalid,
  output logic            s_axis_tready,
  output logic [C*DW-1:0] m_axis_tdata,
  output logic            m_axis_tlast,
  output logic            m_axis_tvalid,
  input  logic            m_axis_tready
);
  if (H < 2 || W < 2) begin : g_bad_size
    $fatal(1, "pool2x2: H and W must be >= 2");
  end
  if (C < 1) begin : g_bad_c
    $fatal(1, "pool2x2: C must be >= 1");
  end
  if (DW < 1) begin : g_bad_dw
    $fatal(1, "pool2x2: DW must be >= 1");
  end
  if (MODE != 0 && MODE != 1) begin : g_bad_mode
    $fatal(1, "pool2x2: MODE must be 0 (max) or 1 (average)");
  end

  localparam int HO  = H / 2;
  localparam int WO  = W / 2;
  localparam int XW  = $clog2(W);
  localparam int YW  = $clog2(H);
  localparam int LBA = (WO > 1) ? $clog2(WO) : 1;
  localparam int LW  = (MODE == 1) ? DW + 1 : DW;  // pair lane: max (DW bits) or sum (DW + 1)

  // ---- position counters ---------------------------------------------------------------
  logic [XW-1:0] x_q;
  logic [YW-1:0] y_q;

  wire active  = (32'(x_q) < 2 * WO) && (32'(y_q) < 2 * HO);
  wire col_odd = x_q[0];
  wire row_odd = y_q[0];
  wire last    = (32'(x_q) == 2 * WO - 1) && (32'(y_q) == 2 * HO - 1);
  // produce (this pixel completes a 2x2 window) is a flip-flop, set for the next position when
  // the counters move: s_axis_tready and out_valid_q's next state are then one LUT each from
  // m_axis_tready (the ready chain was the UP5K's critical path once requant was pipelined).
  logic produce;
  logic [XW-1:0] x_d;
  logic [YW-1:0] y_d;

  logic out_valid_q, out_last_q;
  logic [C*DW-1:0] out_q;

  assign s_axis_tready = !produce || !out_valid_q || m_axis_tready;
  assign m_axis_tvalid = out_valid_q;
  assign m_axis_tdata  = out_q;
  assign m_axis_tlast  = out_last_q;

  wire in_fire = s_axis_tvalid && s_axis_tready;

  always_comb begin
    x_d = x_q;
    y_d = y_q;
    if (32'(x_q) == W - 1) begin
      x_d = '0;
      y_d = (32'(y_q) == H - 1) ? '0 : y_q + 1'b1;
    end else begin
      x_d = x_q + 1'b1;
    end
  end

  always_ff @(posedge clk) begin
    if (rst) begin
      x_q     <= '0;
      y_q     <= '0;
      produce <= 1'b0;  // position (0, 0): even row
    end else if (in_fire) begin
      x_q     <= x_d;
      y_q     <= y_d;
      produce <= (32'(x_d) < 2 * WO) && (32'(y_d) < 2 * HO) && x_d[0] && y_d[0];
    end
  end

  // ---- horizontal pair, line buffer, window result -------------------------------------
  logic [C*DW-1:0] hold_q;       // left pixel of the current pair
  logic [C*LW-1:0] pair_d;       // combined pair (this pixel and hold_q)
  logic [C*LW-1:0] lb_q [WO];    // even-row pairs
  logic [C*LW-1:0] lb_rd_q;      // the even-row pair above the current one
  logic [C*DW-1:0] win_d;

  for (genvar c = 0; c < C; c++) begin : g_lane
    wire [DW-1:0] a = hold_q[c*DW +: DW];
    wire [DW-1:0] b = s_axis_tdata[c*DW +: DW];
    wire [LW-1:0] t = lb_rd_q[c*LW +: LW];
    if (MODE == 1) begin : g_avg
      assign pair_d[c*LW +: LW] = LW'(a) + LW'(b);
      assign win_d[c*DW +: DW]  = DW'(((DW+2)'(t) + (DW+2)'(a) + (DW+2)'(b) + (DW+2)'(2)) >> 2);
    end else begin : g_max
      // The three compares side by side, not max(t, max(a, b)): one carry chain deep (two in
      // series were the UP5K's critical path). When t beats both a and b it is the max;
      // otherwise max(a, b) >= t.
      wire          a_gt_b = a > b;
      wire          t_top  = (t > a) && (t > b);
      wire [DW-1:0] m      = a_gt_b ? a : b;
      assign pair_d[c*LW +: LW] = m;
      assign win_d[c*DW +: DW]  = t_top ? t : m;
    end
  end

  wire [LBA-1:0] lb_addr = LBA'(x_q >> 1);

  always_ff @(posedge clk) begin
    if (in_fire && active) begin
      if (!col_odd) hold_q <= s_axis_tdata;
      if (!row_odd && col_odd) lb_q[lb_addr] <= pair_d;
      if (row_odd && !col_odd) lb_rd_q <= lb_q[lb_addr];
    end
  end

  always_ff @(posedge clk) begin
    if (rst) begin
      out_valid_q <= 1'b0;
    end else if (in_fire && produce) begin
      out_valid_q <= 1'b1;
    end else if (m_axis_tready) begin
      out_valid_q <= 1'b0;
    end
  end

  always_ff @(posedge clk) begin
    if (in_fire && produce) begin
      out_q      <= win_d;
      out_last_q <= last;
    end
  end
endmodule
