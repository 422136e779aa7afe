// pool2x2_pix: 2x2 stride-2 pooling of a raster stream of H x W pixels carried PIX pixels per
// beat, C unsigned DW-bit lanes per pixel. Same arithmetic as pool2x2:
//
//   MODE 0: max(a, b, c, d)        MODE 1: (a + b + c + d + 2) >> 2
//
// Streams:
//   s_axis: pixel p of beat b is raster pixel b*PIX + p, at [p*C*DW +: C*DW], channel c at
//           [(p*C + c)*DW +: DW]. H*W/PIX beats per frame, counted by the module
//           (s_axis_tlast is ignored). A beat may hold the end of one row and the start of the
//           next (W = 28, PIX = 8: beats start at columns 0, 8, 16, 24, 4, 12, 20, 0, ...).
//   m_axis: the pooled pixels of the beat's odd-row pairs, in raster order of the
//           (H/2) x (W/2) output, left-aligned: pooled pixel j of the beat at
//           [j*C*DW +: C*DW]; m_axis_tkeep has one bit per pooled-pixel lane, contiguous from
//           lane 0 (pix_repack's input format); unkept lanes are zero. Beats with no pooled
//           pixel are not sent. m_axis_tlast on the beat holding the frame's last pooled
//           pixel (the frame's last beat).
//
// PIX and W even: a horizontal pair never straddles a beat, so every beat holds PIX/2 whole
// pairs, at consecutive pair columns (modulo W/2) of one or two rows; at most one row change
// per beat (PIX <= W), so the odd-row pairs of a beat are contiguous (0 .. PIX/2 of them).
// Even-row pairs are combined (max, or the DW+1-bit sum) and written to a line buffer of W/2
// entries; odd-row pairs read the entry of their pair column and complete the window. Up to
// PIX/2 entries are written or read per beat at pair columns that depend on the beat's
// position, so the line buffer is a register array (PIX/2 write ports, PIX/2 read muxes), not
// a block RAM.
//
// Timing: one input beat per cycle (s_axis_tready stays high while the output moves); latency
// 1 cycle from the beat holding a window's bottom-right pixel to m_axis_tvalid. s_axis_tready
// depends combinationally on m_axis_tready (only on beats that produce output); m_axis_* come
// from flip-flops.
//
// Parameters:
//   H, W   input frame height and width, even, >= 2
//   C      channels per pixel, >= 1
//   DW     lane width (bits, unsigned), >= 1
//   MODE   0 = max, 1 = average
//   PIX    pixels per input beat, even, >= 2, <= W, dividing H*W
module pool2x2_pix #(
  parameter int H    = 28,
  parameter int W    = 28,
  parameter int C    = 1,
  parameter int DW   = 8,
  parameter int MODE = 0,
  parameter int PIX  = 2
) (
  input  logic                      clk,
  input  logic                      rst,
  input  logic [PIX*C*DW-1:0]       s_axis_tdata,
  /* verilator lint_off UNUSEDSIGNAL */
  input  logic                      s_axis_tlast,   // ignored: positions come from the counters
  /* verilator lint_on UNUSEDSIGNAL */
  input  logic                      s_axis_tvalid,
  output logic                      s_axis_tready,
  output logic [(PIX/2)*C*DW-1:0]   m_axis_tdata,
  output logic [PIX/2-1:0]          m_axis_tkeep,
  output logic                      m_axis_tlast,
  output logic                      m_axis_tvalid,
  input  logic                      m_axis_tready
);
  if (PIX < 2 || PIX % 2 != 0) begin : g_bad_pix
    $fatal(1, "pool2x2_pix: PIX must be even and >= 2");
  end
  if (H < 2 || W < 2 || H % 2 != 0 || W % 2 != 0) begin : g_bad_size
    $fatal(1, "pool2x2_pix: H and W must be even and >= 2");
  end
  if ((H * W) % PIX != 0) begin : g_bad_frame
    $fatal(1, "pool2x2_pix: H*W must be a multiple of PIX");
  end
  if (PIX > W) begin : g_bad_pix_w
    $fatal(1, "pool2x2_pix: PIX must be <= W");
  end
  if (C < 1) begin : g_bad_c
    $fatal(1, "pool2x2_pix: C must be >= 1");
  end
  if (DW < 1) begin : g_bad_dw
    $fatal(1, "pool2x2_pix: DW must be >= 1");
  end
  if (MODE != 0 && MODE != 1) begin : g_bad_mode
    $fatal(1, "pool2x2_pix: MODE must be 0 (max) or 1 (average)");
  end

  localparam int P2  = PIX / 2;                      // pairs per beat
  localparam int WO  = W / 2;                        // pair columns per row
  localparam int XPW = (WO > 1) ? $clog2(WO) : 1;    // pair column of the beat's first pair
  localparam int YW  = $clog2(H);
  localparam int NW  = $clog2(P2 + 1);               // pooled pixels per beat, 0 .. P2
  localparam int PW  = C * DW;                       // pixel width
  localparam int LW  = (MODE == 1) ? DW + 1 : DW;    // pair lane: max (DW bits) or sum (DW + 1)

  // ---- beat position: pair column xp_q (of the first pair) and row y_q ----------------------
  logic [XPW-1:0] xp_q, xp_d;
  logic [YW-1:0]  y_q, y_d;
  // produce: this beat holds odd-row pairs. A flip-flop set for the next position, so that
  // s_axis_tready is one LUT from m_axis_tready (as in pool2x2).
  logic           produce_q;

  logic out_valid_q, out_last_q;
  logic [P2*PW-1:0] out_q;
  logic [P2-1:0]    keep_q;

  assign s_axis_tready = !produce_q || !out_valid_q || m_axis_tready;
  assign m_axis_tvalid = out_valid_q;
  assign m_axis_tdata  = out_q;
  assign m_axis_tkeep  = keep_q;
  assign m_axis_tlast  = out_last_q;

  wire in_fire = s_axis_tvalid && s_axis_tready;
  // The frame's last beat ends at (H-1, W-1): beats never straddle frames ((H*W) % PIX == 0).
  wire last    = (int'(y_q) == H - 1) && (int'(xp_q) + P2 == WO);

  always_comb begin
    xp_d = XPW'(int'(xp_q) + P2);
    y_d  = y_q;
    if (int'(xp_q) + P2 >= WO) begin
      xp_d = XPW'(int'(xp_q) + P2 - WO);
      y_d  = (int'(y_q) == H - 1) ? '0 : y_q + 1'b1;
    end
  end

  always_ff @(posedge clk) begin
    if (rst) begin
      xp_q      <= '0;
      y_q       <= '0;
      produce_q <= 1'b0;  // (0, 0): even row, and P2 <= WO keeps the beat in it
    end else if (in_fire) begin
      xp_q      <= xp_d;
      y_q       <= y_d;
      // Odd row, or an even row the beat leaves for the (odd) next one.
      produce_q <= y_d[0] || (int'(xp_d) + P2 > WO);
    end
  end

  // ---- pairs, line buffer, window results --------------------------------------------------
  logic [C*LW-1:0]  lb_q [WO];       // even-row pairs, by pair column
  logic [C*LW-1:0]  pair   [P2];     // horizontal pair of the beat's pair q
  logic [PW-1:0]    win    [P2];     // window result when pair q lies on an odd row
  logic [XPW-1:0]   pcol   [P2];     // pair column of pair q
  logic [P2-1:0]    odd;             // pair q lies on an odd row

  for (genvar q = 0; q < P2; q++) begin : g_pair
    // Pair q is in the next row when it passes the row end.
    wire wrap = (int'(xp_q) + q >= WO);
    assign odd[q]  = y_q[0] ^ wrap;
    assign pcol[q] = wrap ? XPW'(int'(xp_q) + q - WO) : XPW'(int'(xp_q) + q);
    wire [C*LW-1:0] above = lb_q[pcol[q]];

    for (genvar c = 0; c < C; c++) begin : g_lane
      wire [DW-1:0] a = s_axis_tdata[((2*q)*C + c)*DW +: DW];
      wire [DW-1:0] b = s_axis_tdata[((2*q + 1)*C + c)*DW +: DW];
      wire [LW-1:0] t = above[c*LW +: LW];
      if (MODE == 1) begin : g_avg
        assign pair[q][c*LW +: LW] = LW'(a) + LW'(b);
        assign win[q][c*DW +: DW]  = DW'(((DW+2)'(t) + (DW+2)'(a) + (DW+2)'(b) + (DW+2)'(2)) >> 2);
      end else begin : g_max
        wire [DW-1:0] m = (a > b) ? a : b;
        assign pair[q][c*LW +: LW] = m;
        assign win[q][c*DW +: DW]  = (t > m) ? t : m;
      end
    end
  end

  always_ff @(posedge clk) begin
    if (in_fire) begin
      for (int q = 0; q < P2; q++) begin
        if (!odd[q]) lb_q[pcol[q]] <= pair[q];
      end
    end
  end

  // ---- left-align the odd-row results -------------------------------------------------------
  // Odd pairs are a prefix (the beat starts on an odd row) or a suffix (it starts on an even
  // row and wraps into the odd one, after WO - xp_q even pairs).
  logic [NW-1:0]    n_out;
  logic [P2*PW-1:0] aligned;
  logic [P2-1:0]    keep_d;
  always_comb begin
    int shift;
    shift = y_q[0] ? 0 : WO - int'(xp_q);
    n_out = '0;
    for (int q = 0; q < P2; q++) n_out = n_out + NW'(odd[q]);
    aligned = '0;
    keep_d  = '0;
    for (int j = 0; j < P2; j++) begin
      if (j < int'(n_out)) begin
        keep_d[j] = 1'b1;
        for (int q = 0; q < P2; q++) begin
          if (q == j + shift) aligned[j*PW +: PW] = win[q];
        end
      end
    end
  end

  always_ff @(posedge clk) begin
    if (rst) begin
      out_valid_q <= 1'b0;
    end else if (in_fire && produce_q) begin
      out_valid_q <= 1'b1;
    end else if (m_axis_tready) begin
      out_valid_q <= 1'b0;
    end
  end

  always_ff @(posedge clk) begin
    if (rst) begin
      keep_q     <= '0;
      out_last_q <= 1'b0;
    end else if (in_fire && produce_q) begin
      keep_q     <= keep_d;
      out_last_q <= last;
    end
  end

  always_ff @(posedge clk) begin
    if (in_fire && produce_q) out_q <= aligned;
  end
endmodule
