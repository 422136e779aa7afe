// window_gen: line buffer + K x K sliding-window generator, stride 1, zero padding.
//
// Input: a raster stream of frames of exactly H*W pixels, one pixel (all C channels, channel c
// in s_axis_tdata[c*DW +: DW]) per beat. s_axis_tlast is ignored: the module counts pixels.
// Output: one window per output position, HO = H+2*PAD-K+1 rows by WO = W+2*PAD-K+1 columns per
// frame in raster order. Tap (i, j) (window row i, top first; column j, left first) channel c
// is lane (i*K + j)*C + c of m_axis_tdata, i.e. it is input pixel (oy-PAD+i, ox-PAD+j) of the
// window at output position (oy, ox), or zero when that pixel lies outside the image.
// m_axis_tlast marks the last window of each frame.
//
// Structure: K-1 line buffers of W pixels (one circular memory of W words of (K-1)*C*DW bits,
// one synchronous read + one write per cycle, so it maps to a simple dual-port BRAM) feed a
// K x K register window. Every "shift" moves one pixel in: tap (i, j) then holds raster pixel
// n-(K-1-i)*W-(K-1-j) of the frame, n being the newest. Padding costs no cycles: taps outside
// the image (including those that wrap across a row edge, or belong to the previous/next
// frame) are masked to zero at the output from per-row/per-column flags computed from the
// output position. Window (oy, ox) is complete right after the shift of raster index
// t = (oy+K-1-PAD)*W + (ox+K-1-PAD); the last window of a frame needs TAIL = PAD*(W+1) shifts
// past the frame's last pixel. Those are done by the next frame's first pixels when they are
// there (zero overhead back to back; they are masked for the old frame), otherwise by bubble
// shifts that consume no input, but only until the first pixel of the next frame has been
// taken (after that, bubbles would break the next frame's geometry, so it waits for input).
// The K x K window register is also the output register: while m_axis_tvalid && !m_axis_tready
// nothing shifts and s_axis_tready is low.
//
// Parameters:
//   H, W  input image height and width (pixels)
//   C     channels per input beat
//   DW    lane width (bits)
//   K     kernel size (>= 1)
//   PAD   zero padding on every side; must satisfy 2*PAD <= K-1 (at most "same" padding), so
//         that every shift completes at most one window and frames never overlap at the output.
//
// Timing:
//   Latency: 1 cycle from the input handshake of a window's newest pixel (bottom-right tap, or
//   its in-stream position when it lies in the right/bottom padding) to m_axis_tvalid. The first
//   window of a frame appears (K-1-PAD)*(W+1)+1 cycles after the frame's first pixel at full rate.
//   Throughput: one input pixel per cycle and at most one window per cycle, back to back across
//   frames with no idle cycle, whenever the input is valid and the output is not stalled. When
//   the input stops after a frame, at most TAIL = PAD*(W+1) bubble cycles finish that frame
//   (no further input needed, so the last frame never hangs).
//   s_axis_tready = !(m_axis_tvalid && !m_axis_tready): a combinational m_axis_tready ->
//   s_axis_tready path (put an axis_skid behind the output to cut it if needed).
module window_gen #(
  parameter int H   = 28,
  parameter int W   = 28,
  parameter int C   = 1,
  parameter int DW  = 8,
  parameter int K   = 3,
  parameter int PAD = 1
) (
  input  logic                  clk,
  input  logic                  rst,
  input  logic [C*DW-1:0]       s_axis_tdata,
  input  logic                  s_axis_tlast,  // ignored (frames are always H*W pixels)
  input  logic                  s_axis_tvalid,
  output logic                  s_axis_tready,
  output logic [K*K*C*DW-1:0]   m_axis_tdata,
  output logic                  m_axis_tlast,
  output logic                  m_axis_tvalid,
  input  logic                  m_axis_tready
);
  localparam int PW      = C * DW;                  // bits per pixel
  localparam int HO      = H + 2 * PAD - K + 1;     // output rows
  localparam int WO      = W + 2 * PAD - K + 1;     // output columns
  localparam int NPIX    = H * W;
  localparam int TAIL    = PAD * (W + 1);           // shifts past the last pixel
  localparam int T_FIRST = (K - 1 - PAD) * (W + 1); // shift index of the first window
  localparam int T_LAST  = NPIX - 1 + TAIL;         // shift index of the last window
  localparam int T_ROW   = K - 2 * PAD;             // t step from a row's last window to the next row
  localparam int CNT_W   = $clog2(T_LAST + 2);
  localparam int OY_W    = (HO > 1) ? $clog2(HO) : 1;
  localparam int OX_W    = (WO > 1) ? $clog2(WO) : 1;

  // ---- elaboration-time parameter checks -------------------------------------------------
  if (H < 1 || W < 1 || C < 1 || DW < 1) begin : gen_bad_size
    $fatal(1, "window_gen: H, W, C, DW must be >= 1 (H=%0d W=%0d C=%0d DW=%0d)", H, W, C, DW);
  end
  if (K < 1) begin : gen_bad_k
    $fatal(1, "window_gen: K must be >= 1 (K=%0d)", K);
  end
  if (PAD < 0 || 2 * PAD > K - 1) begin : gen_bad_pad
    $fatal(1, "window_gen: need 0 <= PAD and 2*PAD <= K-1 (K=%0d PAD=%0d)", K, PAD);
  end
  if (HO < 1 || WO < 1) begin : gen_bad_out
    $fatal(1, "window_gen: image smaller than the kernel (HO=%0d WO=%0d)", HO, WO);
  end
  if (TAIL > NPIX) begin : gen_bad_tail
    $fatal(1, "window_gen: PAD*(W+1) must be <= H*W (frame too small for its padding tail)");
  end

  logic unused_tlast;
  assign unused_tlast = s_axis_tlast;

  // ---- control ---------------------------------------------------------------------------
  // idx_q: shifts done for the output frame (= raster index the next shift brings in).
  // t_q:   shift index that completes the next window (oy_q, ox_q).
  // nxt_q: pixels of the next frame already taken by tail shifts (idx_q >= NPIX).
  logic [CNT_W-1:0] idx_q, idx_d, t_q, t_d, nxt_q, nxt_d;
  logic [OY_W-1:0]  oy_q, oy_d;
  logic [OX_W-1:0]  ox_q, ox_d;
  logic             valid_q, valid_d, last_q, last_d;
  logic [K-1:0]     row_ok_q, row_ok_d, col_ok_q, col_ok_d;

  logic hold, in_tail, take, bubble, shift, emit, last_win;
  // All pixels of the output frame are in (idx_q >= NPIX): a flip-flop, so that the shift
  // enable, which addresses the line buffer's read, starts one LUT after a register (the
  // compare was on the ECP5-25k's critical path). Its next value is chosen by the shift from
  // compares of registers only (idx_d >= NPIX would put a carry chain behind the handshake).
  logic in_tail_q, in_tail_d;
  // hit_q == (idx_q == t_q), kept as a flip-flop for the same reason (the equality was three
  // LUTs ahead of emit and the output-position enables on the UP5K's critical path); its next
  // value needs only compares of registers: a shift that emits lands on the next window's
  // index unless it starts a row or a frame.
  logic hit_q, hit_d;
  // nxt_none_q == (nxt_q == 0), likewise (the ten-bit zero test led the bubble into the shift).
  logic nxt_none_q, nxt_none_d;

  assign hold     = valid_q && !m_axis_tready;          // window is the pending output beat
  assign in_tail  = in_tail_q;
  assign take     = s_axis_tvalid && !hold;             // input handshake
  assign bubble   = in_tail && nxt_none_q && !s_axis_tvalid && !hold;
  assign shift    = take || bubble;
  assign emit     = shift && hit_q;                     // this shift completes window (oy, ox)
  assign last_win = (oy_q == OY_W'(HO - 1)) && (ox_q == OX_W'(WO - 1));

  assign s_axis_tready = !hold;

  always_comb begin
    idx_d    = idx_q;
    t_d      = t_q;
    nxt_d    = nxt_q;
    oy_d     = oy_q;
    ox_d     = ox_q;
    valid_d  = valid_q && !m_axis_tready;
    last_d   = last_q;
    row_ok_d = row_ok_q;
    col_ok_d = col_ok_q;
    in_tail_d = in_tail_q;
    hit_d    = hit_q;
    nxt_none_d = nxt_none_q;
    if (shift) begin
      idx_d = idx_q + 1'b1;
      hit_d = (idx_q + 1'b1 == t_q);
      in_tail_d = in_tail_q || (idx_q == CNT_W'(NPIX - 1));
      if (in_tail && take) begin
        nxt_d      = nxt_q + 1'b1;
        nxt_none_d = 1'b0;
      end
      if (emit) begin
        valid_d = 1'b1;
        last_d  = last_win;
        for (int i = 0; i < K; i++) begin
          row_ok_d[i] = (int'(oy_q) + i >= PAD) && (int'(oy_q) + i < H + PAD);
          col_ok_d[i] = (int'(ox_q) + i >= PAD) && (int'(ox_q) + i < W + PAD);
        end
        if (last_win) begin
          // Frame done: the next-frame pixels taken in the tail (this one included) become the
          // new output frame's shift count.
          idx_d = nxt_q + CNT_W'(in_tail && take);
          in_tail_d = (nxt_q >= CNT_W'(NPIX)) || (in_tail && take && nxt_q == CNT_W'(NPIX - 1));
          nxt_d = '0;
          nxt_none_d = 1'b1;
          t_d   = CNT_W'(T_FIRST);
          hit_d = (in_tail && take) ? (nxt_q == CNT_W'(T_FIRST - 1)) : (nxt_q == CNT_W'(T_FIRST));
          oy_d  = '0;
          ox_d  = '0;
        end else if (ox_q == OX_W'(WO - 1)) begin
          ox_d = '0;
          oy_d = oy_q + 1'b1;
          t_d  = t_q + CNT_W'(T_ROW);
          hit_d = (T_ROW == 1);
        end else begin
          ox_d = ox_q + 1'b1;
          t_d  = t_q + 1'b1;
          hit_d = 1'b1;
        end
      end
    end
  end

  always_ff @(posedge clk) begin
    if (rst) begin
      idx_q    <= '0;
      t_q      <= CNT_W'(T_FIRST);
      nxt_q    <= '0;
      oy_q     <= '0;
      ox_q     <= '0;
      valid_q  <= 1'b0;
      last_q   <= 1'b0;
      row_ok_q <= '0;
      col_ok_q <= '0;
      in_tail_q <= 1'b0;  // NPIX >= 1
      hit_q    <= (T_FIRST == 0);
      nxt_none_q <= 1'b1;
    end else begin
      idx_q    <= idx_d;
      t_q      <= t_d;
      nxt_q    <= nxt_d;
      oy_q     <= oy_d;
      ox_q     <= ox_d;
      valid_q  <= valid_d;
      last_q   <= last_d;
      row_ok_q <= row_ok_d;
      col_ok_q <= col_ok_d;
      in_tail_q <= in_tail_d;
      hit_q    <= hit_d;
      nxt_none_q <= nxt_none_d;
    end
  end

  // ---- line buffers ----------------------------------------------------------------------
  // col_in[i]: pixel entering window row i on a shift (raster n-(K-1-i)*W). The pixel value of
  // a bubble shift is irrelevant (always masked), so s_axis_tdata goes in unconditionally.
  logic [K-1:0][PW-1:0] col_in;
  assign col_in[K-1] = s_axis_tdata;

  if (K > 1) begin : gen_lb
    localparam int LBW = (K - 1) * PW;
    // Line buffer m delays by (m+1)*W shifts: lb_in[m] = pixel delayed m*W, lb_out[m] = (m+1)*W.
    // Flat vectors, word m at [m*PW +: PW].
    logic [LBW-1:0] lb_in, lb_out;

    assign lb_in[0 +: PW] = s_axis_tdata;
    for (genvar m = 1; m < K - 1; m++) begin : gen_chain
      assign lb_in[m*PW +: PW] = lb_out[(m-1)*PW +: PW];
    end

    for (genvar i = 0; i < K - 1; i++) begin : gen_col_in
      assign col_in[i] = lb_out[(K-2-i)*PW +: PW];
    end

    if (W == 1) begin : gen_reg
      logic [LBW-1:0] lb_q;
      always_ff @(posedge clk) begin
        if (shift) begin
          lb_q <= lb_in;
        end
      end
      assign lb_out = lb_q;
    end else begin : gen_mem
      localparam int PTR_W = $clog2(W);
      // rd_q always holds mem_q[ptr_q] (the word written W shifts ago): the read address is the
      // next pointer, which never equals the write address (W >= 2).
      logic [LBW-1:0]   mem_q [W];
      logic [LBW-1:0]   rd_q;
      logic [PTR_W-1:0] ptr_q, ptr_d;

      always_comb begin
        ptr_d = ptr_q;
        if (shift) begin
          ptr_d = (ptr_q == PTR_W'(W - 1)) ? '0 : ptr_q + 1'b1;
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

  // ---- K x K window (also the output register) ------------------------------------------
  logic [K-1:0][K-1:0][PW-1:0] win_q;

  always_ff @(posedge clk) begin
    if (shift) begin
      for (int i = 0; i < K; i++) begin
        for (int j = 0; j < K - 1; j++) begin
          win_q[i][j] <= win_q[i][j+1];
        end
        win_q[i][K-1] <= col_in[i];
      end
    end
  end

  always_comb begin
    for (int i = 0; i < K; i++) begin
      for (int j = 0; j < K; j++) begin
        m_axis_tdata[(i*K+j)*PW +: PW] = (row_ok_q[i] && col_ok_q[j]) ? win_q[i][j] : '0;
      end
    end
  end

  assign m_axis_tvalid = valid_q;
  assign m_axis_tlast  = last_q;
endmodule
