// window_gen_pix: K x K sliding-window generator, PIX pixels per beat in and PIX windows per
// beat out, stride 1, "same" zero padding (2*PAD == K-1, so HO = H and WO = W).
//
// Input: a raster stream of frames of exactly H*W pixels, PIX pixels per beat (H*W/PIX beats).
// Pixel p of beat b is raster pixel n = b*PIX + p, at s_axis_tdata[p*C*DW +: C*DW], channel c
// at [(p*C + c)*DW +: DW]. Beats straddle rows when PIX does not divide W (W=28, PIX=8: beat 3
// holds pixels 24..31, the end of row 0 and the start of row 1). s_axis_tlast is ignored: the
// module counts beats.
// Output: H*W/PIX beats per frame; beat B carries the windows of output positions
// o = B*PIX + p (p = 0..PIX-1, o = oy*W + ox in raster order), window p at
// m_axis_tdata[p*K*K*C*DW +: K*K*C*DW]. Inside a window, tap (i, j) channel c is lane
// (i*K + j)*C + c, exactly as window_gen: input pixel (oy-PAD+i, ox-PAD+j), or zero outside
// the image. m_axis_tlast marks the last beat of each frame.
//
// Structure: tap (i, j) of window p is the input pixel at a fixed delay behind the newest pixel
// shifted in. Write r = K-1-i (rows back) and W = Q*PIX + REM (Q = floor(W/PIX) >= 1 whole
// beats per row). K-1 chained line buffers, each delaying whole beats by Q shifts, give K row
// streams: row stream r is the input delayed by r*Q beats (one circular memory of Q words of
// (K-1)*PIX*C*DW bits, one synchronous read + one write per cycle: a simple dual-port BRAM
// shape; a register when Q = 1). Each row stream r feeds a pixel shift register sr of
// L_r = r*REM + E + PIX + K-1 pixels (E: see below) that moves PIX pixels in per shift; its
// oldest PIX+K-1 pixels are row i of every window: tap (i, j) of window p is sr[p + j]. The
// newer r*REM + E pixels only pipeline the REM-pixel remainder of the r row delays (and E).
// These registers are also the output register. Every shift moves one beat in: output beat B
// is complete once input beat B + TB is in, TB = ceil(PAD*(W+1) / PIX) (its last window needs
// raster pixel B*PIX + PIX-1 + PAD*(W+1)); E = TB*PIX - PAD*(W+1) (0..PIX-1) is how far that
// beat's newest pixel lies past the one needed. Padding costs no cycles: taps outside the image
// (above, below, left or right, including those that wrap across a row edge or belong to the
// previous/next frame) are masked to zero at the output from per-window row/column flags,
// computed from the registered position (oy, ox) of window 0 of the beat (ox steps by PIX and
// wraps to the next row; PIX <= W, so a beat spans at most 2 rows). The last beat of a frame
// needs TB shifts past the frame's last beat. Those are done by the next frame's first beats
// when they are there (zero overhead back to back; masked for the old frame), otherwise by
// bubble shifts that consume no input, but only until the first beat of the next frame has been
// taken (after that, bubbles would break the next frame's geometry, so it waits for input).
// While m_axis_tvalid && !m_axis_tready nothing shifts and s_axis_tready is low.
//
// Parameters:
//   H, W  input image height and width (pixels)
//   C     channels per pixel
//   DW    lane width (bits)
//   K     kernel size, odd (K = 1, PAD = 0: each pixel is its own 1x1 window)
//   PAD   zero padding on every side; 2*PAD == K-1 ("same": one output window per input pixel,
//         so every shift from the TB-th on completes exactly one output beat)
//   PIX   pixels per beat, 1 <= PIX <= W, dividing H*W (PIX = 1 gives window_gen's windows)
//
// Timing:
//   Latency: 1 cycle from the shift of input beat B + TB (its handshake, or a tail bubble) to
//   m_axis_tvalid of output beat B, TB = ceil(PAD*(W+1) / PIX). The first beat of a frame
//   appears TB+1 cycles after the frame's first beat at full rate.
//   Throughput: one input beat per cycle and one output beat per cycle, back to back across
//   frames with no idle cycle, whenever the input is valid and the output is not stalled. When
//   the input stops after a frame, at most TB bubble cycles finish that frame (no further input
//   needed, so the last frame never hangs).
//   s_axis_tready = !(m_axis_tvalid && !m_axis_tready): a combinational m_axis_tready ->
//   s_axis_tready path (put an axis_skid behind the output to cut it if needed).
//   Storage: (K-1)*Q beats of line buffer plus sum over r of L_r pixels of registers.
module window_gen_pix #(
  parameter int H   = 28,
  parameter int W   = 28,
  parameter int C   = 1,
  parameter int DW  = 8,
  parameter int K   = 3,
  parameter int PAD = 1,
  parameter int PIX = 2
) (
  input  logic                      clk,
  input  logic                      rst,
  input  logic [PIX*C*DW-1:0]       s_axis_tdata,
  input  logic                      s_axis_tlast,  // ignored (frames are always H*W/PIX beats)
  input  logic                      s_axis_tvalid,
  output logic                      s_axis_tready,
  output logic [PIX*K*K*C*DW-1:0]   m_axis_tdata,
  output logic                      m_axis_tlast,
  output logic                      m_axis_tvalid,
  input  logic                      m_axis_tready
);
  localparam int PW     = C * DW;                          // bits per pixel
  localparam int BW     = PIX * PW;                        // bits per beat
  localparam int NB     = (H * W) / PIX;                   // beats per frame
  localparam int Q      = W / PIX;                         // whole beats per image row
  localparam int REM    = W % PIX;                         // pixels of a row beyond Q beats
  localparam int TB     = (PAD * (W + 1) + PIX - 1) / PIX; // shifts from input to output beat
  localparam int E      = TB * PIX - PAD * (W + 1);        // newest pixel past the one needed
  localparam int B_LAST = NB - 1 + TB;                     // shift index of the last output beat
  localparam int CNT_W  = $clog2(B_LAST + 2);
  localparam int OY_W   = (H > 1) ? $clog2(H) : 1;
  localparam int OX_W   = (W > 1) ? $clog2(W) : 1;

  // ---- elaboration-time parameter checks -------------------------------------------------
  if (H < 1 || W < 1 || C < 1 || DW < 1) begin : gen_bad_size
    $fatal(1, "window_gen_pix: H, W, C, DW must be >= 1 (H=%0d W=%0d C=%0d DW=%0d)",
           H, W, C, DW);
  end
  if (K < 1 || PAD < 0 || 2 * PAD != K - 1) begin : gen_bad_pad
    $fatal(1, "window_gen_pix: need 2*PAD == K-1, K odd (same padding) (K=%0d PAD=%0d)", K, PAD);
  end
  if (PIX < 1 || PIX > W) begin : gen_bad_pix
    $fatal(1, "window_gen_pix: need 1 <= PIX <= W (PIX=%0d W=%0d)", PIX, W);
  end
  if ((H * W) % PIX != 0) begin : gen_bad_beats
    $fatal(1, "window_gen_pix: PIX must divide H*W (H=%0d W=%0d PIX=%0d)", H, W, PIX);
  end
  // The tail of a frame is done by at most one whole next frame (the nxt_q count).
  if (TB > NB) begin : gen_bad_tail
    $fatal(1, "window_gen_pix: need ceil(PAD*(W+1)/PIX) <= H*W/PIX (frame shorter than its tail)");
  end

  logic unused_tlast;
  assign unused_tlast = s_axis_tlast;

  // ---- control ---------------------------------------------------------------------------
  // idx_q: shifts done for the output frame (= input beat index the next shift brings in).
  // nxt_q: beats of the next frame already taken by tail shifts (idx_q >= NB).
  // (oy_q, ox_q): position of window 0 of the next output beat, beat idx_q - TB.
  logic [CNT_W-1:0]          idx_q, idx_d, nxt_q, nxt_d;
  logic [OY_W-1:0]           oy_q, oy_d;
  logic [OX_W-1:0]           ox_q, ox_d;
  logic                      valid_q, valid_d, last_q, last_d;
  logic [PIX-1:0][K-1:0]     row_ok_q, row_ok_d, col_ok_q, col_ok_d, row_ok_n, col_ok_n;

  logic hold, in_tail, take, bubble, shift, primed, emit, last_beat;

  assign hold      = valid_q && !m_axis_tready;  // the registers hold the pending output beat
  assign in_tail   = idx_q >= CNT_W'(NB);        // all beats of the output frame are in
  assign take      = s_axis_tvalid && !hold;     // input handshake
  assign bubble    = in_tail && (nxt_q == '0) && !s_axis_tvalid && !hold;
  assign shift     = take || bubble;
  assign emit      = shift && primed;            // this shift completes output beat idx_q - TB
  assign last_beat = idx_q == CNT_W'(B_LAST);

  // A separate case for TB = 0: idx_q >= 0 would be a constant comparison (lint).
  if (TB == 0) begin : gen_primed_always
    assign primed = 1'b1;
  end else begin : gen_primed_cnt
    assign primed = idx_q >= CNT_W'(TB);
  end

  assign s_axis_tready = !hold;

  // Padding flags of the beat at (oy_q, ox_q): window p sits at (oy_q, ox_q + p), or on the
  // next row once past its end.
  always_comb begin
    for (int p = 0; p < PIX; p++) begin
      int ox, oy;
      ox = int'(ox_q) + p;
      oy = int'(oy_q);
      if (ox >= W) begin
        ox = ox - W;
        oy = oy + 1;
      end
      for (int i = 0; i < K; i++) begin
        row_ok_n[p][i] = (oy + i >= PAD) && (oy + i < H + PAD);
        col_ok_n[p][i] = (ox + i >= PAD) && (ox + i < W + PAD);
      end
    end
  end

  always_comb begin
    idx_d    = idx_q;
    nxt_d    = nxt_q;
    oy_d     = oy_q;
    ox_d     = ox_q;
    valid_d  = valid_q && !m_axis_tready;
    last_d   = last_q;
    row_ok_d = row_ok_q;
    col_ok_d = col_ok_q;
    if (shift) begin
      idx_d = idx_q + 1'b1;
      if (in_tail && take) begin
        nxt_d = nxt_q + 1'b1;
      end
      if (emit) begin
        valid_d = 1'b1;
        last_d  = last_beat;
        row_ok_d = row_ok_n;
        col_ok_d = col_ok_n;
        if (last_beat) begin
          // Frame done: the next-frame beats taken in the tail (this one included) become the
          // new output frame's shift count.
          idx_d = nxt_q + CNT_W'(in_tail && take);
          nxt_d = '0;
          oy_d  = '0;
          ox_d  = '0;
        end else if (int'(ox_q) + PIX >= W) begin
          ox_d = OX_W'(int'(ox_q) + PIX - W);
          oy_d = oy_q + 1'b1;
        end else begin
          ox_d = OX_W'(int'(ox_q) + PIX);
        end
      end
    end
  end

  always_ff @(posedge clk) begin
    if (rst) begin
      idx_q    <= '0;
      nxt_q    <= '0;
      oy_q     <= '0;
      ox_q     <= '0;
      valid_q  <= 1'b0;
      last_q   <= 1'b0;
      row_ok_q <= '0;
      col_ok_q <= '0;
    end else begin
      idx_q    <= idx_d;
      nxt_q    <= nxt_d;
      oy_q     <= oy_d;
      ox_q     <= ox_d;
      valid_q  <= valid_d;
      last_q   <= last_d;
      row_ok_q <= row_ok_d;
      col_ok_q <= col_ok_d;
    end
  end

  // ---- line buffers ----------------------------------------------------------------------
  // row_in[r]: beat entering row stream r on a shift (input beat m - r*Q). The data of a bubble
  // shift is irrelevant (always masked), so s_axis_tdata goes in unconditionally.
  logic [K-1:0][PIX-1:0][PW-1:0] row_in;
  assign row_in[0] = s_axis_tdata;

  if (K > 1) begin : gen_lb
    localparam int LBW = (K - 1) * BW;
    // Line buffer m delays row stream m by Q shifts into row stream m+1.
    // Flat vectors, beat m at [m*BW +: BW].
    logic [LBW-1:0] lb_in, lb_out;

    for (genvar m = 0; m < K - 1; m++) begin : gen_chain
      assign lb_in[m*BW +: BW] = row_in[m];
      assign row_in[m+1]       = lb_out[m*BW +: BW];
    end

    if (Q == 1) begin : gen_reg
      logic [LBW-1:0] lb_q;
      always_ff @(posedge clk) begin
        if (shift) begin
          lb_q <= lb_in;
        end
      end
      assign lb_out = lb_q;
    end else begin : gen_mem
      localparam int PTR_W = $clog2(Q);
      // rd_q always holds mem_q[ptr_q] (the word written Q shifts ago): the read address is the
      // next pointer, which never equals the write address (Q >= 2).
      logic [LBW-1:0]   mem_q [Q];
      logic [LBW-1:0]   rd_q;
      logic [PTR_W-1:0] ptr_q, ptr_d;

      always_comb begin
        ptr_d = ptr_q;
        if (shift) begin
          ptr_d = (ptr_q == PTR_W'(Q - 1)) ? '0 : ptr_q + 1'b1;
        end
      end

      always_ff @(posedge clk) begin
        if (rst) begin
          ptr_q <= '0;
        end else begin
          ptr_q <= ptr_d;
        end
      end

      always_ff @(posedge clk) begin
        if (shift) begin
          mem_q[ptr_q] <= lb_in;
        end
        rd_q <= mem_q[ptr_d];
      end
      assign lb_out = rd_q;
    end
  end

  // ---- per-row pixel shift registers (also the output register) -------------------------
  // win[p][i][j]: tap (i, j) of window p before masking.
  logic [PIX-1:0][K-1:0][K-1:0][PW-1:0] win;

  for (genvar r = 0; r < K; r++) begin : gen_row
    // sr_q pixel x: pixel of row stream r, oldest at x = 0; a shift moves PIX pixels in at the top.
    // The oldest PIX+K-1 are window row K-1-r; the newer r*REM + E delay the row by the
    // remainder of r*W pixels that the line buffers (whole beats) do not, and by E.
    // Flat vector, pixel x at [x*PW +: PW] (Yosys does not take part-selects of the outer
    // dimension of a multi-dimensional packed array).
    localparam int L = r * REM + E + PIX + K - 1;
    logic [L*PW-1:0] sr_q;

    always_ff @(posedge clk) begin
      if (shift) begin
        sr_q[(L-PIX)*PW +: BW] <= row_in[r];
        for (int x = 0; x < L - PIX; x++) begin
          sr_q[x*PW +: PW] <= sr_q[(x+PIX)*PW +: PW];
        end
      end
    end

    for (genvar p = 0; p < PIX; p++) begin : gen_lane
      assign win[p][K-1-r] = sr_q[p*PW +: K*PW];
    end
  end

  always_comb begin
    for (int p = 0; p < PIX; p++) begin
      for (int i = 0; i < K; i++) begin
        for (int j = 0; j < K; j++) begin
          m_axis_tdata[((p*K + i)*K + j)*PW +: PW] =
              (row_ok_q[p][i] && col_ok_q[p][j]) ? win[p][i][j] : '0;
        end
      end
    end
  end

  assign m_axis_tvalid = valid_q;
  assign m_axis_tlast  = last_q;
endmodule
