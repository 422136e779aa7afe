// conv_unit: folded convolution MAC array, one accumulator (SUM_W bits, output as int32 ACC_W)
// per output channel.
//
// For every input window (from window_gen) it computes, for o = 0..C_OUT-1,
//
//   acc[o] = bias[o] + sum_{c,i,j} w[o][c][i][j] * x[i][j][c]
//
// with w int8 (signed) and x uint8 (unsigned) by default (other precisions below), and emits
// one output beat per window. PIX > 1 (FINN's MMV): each input beat holds PIX windows (PIX
// neighbouring pixels) computed side by side with the same weights and biases, one output beat
// per input beat; folding and timing are those of PIX = 1.
//
// Low-bit / binarized (FINN-style) arithmetic, W_BITS and A_BITS each in {1, 2, 4, 8}
// (rtl/lane_dot.sv, docs/rtl-library.md "Low-bit arithmetic contract"):
//   weights:     1 = bipolar (bit 1 -> +1, bit 0 -> -1), else signed two's complement
//   activations: 1 = bipolar (bit 1 -> +1, bit 0 -> -1), else unsigned 0..2^A_BITS-1
//   product:     w1a1 XNOR (+1 if the bits are equal, else -1; a group of n lanes sums as
//                2*popcount(~(w ^ x)) - n); w1: +x or -x; a1: +w or -w; else w*x.
//                No multiplier when either side is 1 bit. The accumulation (int32 bias,
//                signed SUM_W) is the same for every precision.
// W_BITS = A_BITS = 8 (the defaults) is the int8 x uint8 unit, unchanged.
// Padding caveat: window_gen pads with lane value 0, which on a bipolar (A_BITS = 1) stream
// reads as -1; a reference for a padded binarized convolution has to model that.
//
// Streams (docs/architecture.md):
//   s_axis  PIX windows, window p at [p*WIN_W +: WIN_W] with WIN_W = K*K*C_IN*A_BITS; each
//           window K*K*C_IN A_BITS-wide lanes, tap (i,j) channel c at lane (i*K + j)*C_IN + c
//           (bits [lane*A_BITS +: A_BITS] of the window).
//   m_axis  PIX*C_OUT signed ACC_W lanes, pixel p channel o at lane p*C_OUT + o
//           (tdata[(p*C_OUT + o)*ACC_W +: ACC_W]). m_axis_tlast is the s_axis_tlast of the
//           input beat the output beat belongs to.
//
// Parameters:
//   K          kernel size (window K x K)
//   C_IN       input channels, C_OUT output channels
//   PE         output channels computed in parallel      (PE   divides C_OUT)
//   SIMD       input channels computed in parallel        (SIMD divides C_IN)
//   TAPS       kernel taps computed in parallel           (TAPS divides K*K; default all K*K,
//              TAPS = K is one kernel row, TAPS = 1 one tap per cycle for the smallest FPGAs)
//   W_BITS     weight lane width, 1 (bipolar), 2, 4, 8 (signed); default 8
//   A_BITS     activation lane width, 1 (bipolar), 2, 4, 8 (unsigned); default 8
//   ACC_W      output lane width (32)
//   SUM_W      accumulator width inside the unit, DOT_W..ACC_W (default ACC_W): the ring and the
//              output register hold SUM_W bits per lane, the bias its low SUM_W bits, and each
//              output lane is their sign extension to ACC_W (as fc_unit / fc_serial). Exact
//              only when no accumulator can leave SUM_W bits: the planner sizes it from the
//              worst case |bias| + sum|w|*max|x| (model/plan.py), and the carry chains are that
//              much shorter (the UP5K's convolutions accumulated through 32-bit chains).
//   PIX        windows per input beat (default 1), sharing every weight and bias: PIX*PE
//              lane_dot instances and PIX times the accumulators, one weight ROM as for PIX = 1.
//              SERIAL = 1 with PIX > 1 is not supported ($fatal).
//   DSP_MULS   products per cycle built as `*` (DSP blocks after synthesis), 0..PIX*PE*SIMD*TAPS
//              (default all); the others are rtl/lut_mul.sv shift-and-add in logic cells
//              (lane_dot DSP_LANES, filled in instance order p*PE + pe). Same results, same
//              timing: it only keeps a device's DSP budget (docs/architecture.md, "Budgets").
//   DOT_PIPE   1 (default): the products registered before the adder tree (lane_dot PIPE = 1);
//              2: the tree's partial sums registered halfway up too (lane_dot PIPE = 2),
//              3: and each product's operands at its multiplier (PIPE = 3); one cycle more
//              latency each, for trees too deep for the clock (model/plan.py `dot_pipe`).
//   SERIAL     0: one output beat per input beat with all C_OUT channels of each of its PIX
//              windows (m_axis PIX*C_OUT lanes);
//              1: one output beat per output group, PE lanes, C_OUT/PE beats per window in
//              channel order, m_axis_tlast on the window's last beat only if the window had
//              s_axis_tlast. SERIAL = 1 keeps one group of accumulators instead of C_OUT
//              (flip-flops matter on the smallest FPGAs; requant's BEATS takes this stream).
//   W_FILE     $readmemh weight file: depth FOLDS, word PE*SIMD*TAPS*W_BITS bits, address
//              (og*(C_IN/SIMD) + ig)*(K*K/TAPS) + tg, lane (pe*SIMD + s)*TAPS + u
//              (at [lane*W_BITS +: W_BITS])
//              = w[og*PE+pe][ig*SIMD+s][i][j] with tap t = i*K + j = tg*TAPS + u
//              (TAPS = K*K: address og*(C_IN/SIMD) + ig, lane (pe*SIMD + s)*K*K + i*K + j)
//   B_FILE     $readmemh bias file: C_OUT words of 32 bits (int32)
//   In simulation a missing file, a word count other than the depth, a non-hex word or a word
//   wider than the memory stops the simulation with $fatal naming the file (rtl/mem_check.svh,
//   so Verilator needs -Irtl). Synthesis (SYNTHESIS defined) just loads the files.
//
// Folding: FOLDS = (C_OUT/PE) * (C_IN/SIMD) * (K*K/TAPS) cycles per input beat,
//   PIX*PE*SIMD*TAPS products per cycle (PIX*PE lane_dot instances of SIMD*TAPS lanes), every
//   weight read once per fold and used by all PIX windows. Loop order per beat: og (output
//   group) outer, then ig (input group), tg (tap group) innermost; ig and tg together are the
//   fold-in-group counter fg.
//
// Throughput: one input beat (PIX windows) every FOLDS cycles, sustained (FOLDS = 1: one beat
//   per cycle). The beat is issued fold by fold straight from s_axis (held stable by the
//   AXI-Stream rule); s_axis_tready is high with its last fold, which is the input handshake.
// Latency: the output handshake comes 3 + DOT_PIPE cycles after the beat's input handshake,
//   i.e. FOLDS + 2 + DOT_PIPE cycles after s_axis_tvalid rose (no stalls)
//   (fold issue + weight ROM read -> products reg -> adder tree reg -> accumulate -> output
//   reg; DOT_PIPE = 2: the tree in two stages, 3: operands registered first). SERIAL = 1: the beat of output group og comes
//   (og+1)*FOLDS/(C_OUT/PE) + 2 + DOT_PIPE cycles after s_axis_tvalid rose, one beat every
//   FOLDS/(C_OUT/PE) cycles. (Until 2026-11-30 the products and the adder tree were one stage:
//   one cycle less.)
//
// Pipeline: issue (fold counter, weight ROM address, activation slice of the held window)
//        -> S1 (weight ROM output + activation slices registered; PIX*PE lane_dot instances
//               with PIPE = 1: the products)
//        -> P  (products registered in lane_dot; balanced adder tree)
//        [-> Q (DOT_PIPE >= 2: the tree's partial sums registered halfway, in lane_dot;
//               DOT_PIPE = 3 registers each lane's operands before its product)]
//        -> S2 (dot products registered; accumulate into a ring of C_OUT/PE groups of PE lanes)
//        -> output register.
// The accumulator ring rotates by one group at the end of each output group, so the group being
// accumulated always sits at the head (no wide read muxes); after the last group of a window it
// holds all C_OUT results in lane order. PIX > 1: one such ring per pixel, side by side. The result moves to the output register at once when
// that is free; otherwise the ring keeps it (double buffer) and the whole pipeline holds until
// the output register drains. The pipeline enable is a register, so there is no combinational
// path from m_axis_tready to s_axis_tready; tvalid never depends on tready.
module conv_unit #(
  parameter int K      = 3,
  parameter int C_IN   = 1,
  parameter int C_OUT  = 4,
  parameter int PE     = 1,
  parameter int SIMD   = 1,
  parameter int TAPS   = K * K,
  parameter int W_BITS = 8,
  parameter int A_BITS = 8,
  parameter int ACC_W  = 32,
  parameter int SUM_W  = ACC_W,
  parameter int PIX    = 1,
  parameter int SERIAL = 0,
  parameter int DOT_PIPE = 1,
  parameter int DSP_MULS = PIX * PE * SIMD * TAPS,
  parameter     W_FILE = "",
  parameter     B_FILE = ""
) (
  input  logic                    clk,
  input  logic                    rst,
  input  logic [PIX*K*K*C_IN*A_BITS-1:0] s_axis_tdata,
  input  logic                    s_axis_tlast,
  input  logic                    s_axis_tvalid,
  output logic                    s_axis_tready,
  output logic [(SERIAL != 0 ? PE : PIX*C_OUT)*ACC_W-1:0] m_axis_tdata,
  output logic                    m_axis_tlast,
  output logic                    m_axis_tvalid,
  input  logic                    m_axis_tready
);
  localparam int KK     = K * K;
  localparam int NO     = C_OUT / PE;           // output groups
  localparam int NI     = C_IN / SIMD;          // input groups
  localparam int NT     = KK / TAPS;            // tap groups
  localparam int NF     = NI * NT;              // folds per output group (ig, tg)
  localparam int FOLDS  = NO * NF;
  localparam int NTERM  = SIMD * TAPS;          // products summed per PE per cycle
  localparam int GW     = NTERM * A_BITS;       // activation slice width (one input group)
  localparam int WIN_W  = KK * C_IN * A_BITS;   // one window of the input beat
  localparam int WW     = PE * NTERM * W_BITS;  // weight word width
  // Product width (rtl/lane_dot.sv): XNOR +-1, sign select +-x or +-w, or the w*x product
  // (int8 x uint8: 16 bits signed).
  localparam int PROD_W = (W_BITS == 1 && A_BITS == 1) ? 2
                        : (W_BITS == 1) ? A_BITS + 1
                        : (A_BITS == 1) ? W_BITS + 1 : W_BITS + A_BITS;
  localparam int DOT_W  = PROD_W + $clog2(NTERM);
  localparam int GRP_W  = PE * SUM_W;           // one output group of accumulators
  localparam int RING_G = (SERIAL != 0) ? 1 : NO;  // groups held: all, or the one in progress
  localparam int RING_W = RING_G * GRP_W;       // one pixel's ring
  localparam int OUT_W  = PIX * RING_W;
  localparam int LANES  = OUT_W / SUM_W;        // output lanes
  localparam int AW     = (FOLDS > 1) ? $clog2(FOLDS) : 1;
  localparam int OGW    = (NO > 1) ? $clog2(NO) : 1;
  localparam int FGW    = (NF > 1) ? $clog2(NF) : 1;
  localparam int BAW    = (C_OUT > 1) ? $clog2(C_OUT) : 1;
  // The weight ROM reads a cycle ahead when it is deep enough for block RAM (>= 64 words) and
  // its late output would head a long path: products in logic cells (lut_mul's carry chains,
  // DSP_MULS below all) or a pipelined dot product (DOT_PIPE >= 2). A plain read saves the
  // register otherwise: the UP5K's `up5k` folding (all DSP, one-cycle trees) did not place
  // with the 24 flip-flops its conv2 ROM's read-ahead cost.
  localparam bit W_AHEAD = (FOLDS >= 64) && (DOT_PIPE >= 2 || DSP_MULS < PIX * PE * NTERM);

  // ---- elaboration-time parameter checks --------------------------------------------------
  if (K < 1 || C_IN < 1 || C_OUT < 1 || PE < 1 || SIMD < 1 || TAPS < 1 || PIX < 1)
  begin : g_err_pos
    $fatal(1, "conv_unit: K, C_IN, C_OUT, PE, SIMD, TAPS, PIX must be >= 1");
  end
  if (SERIAL != 0 && SERIAL != 1) begin : g_err_serial
    $fatal(1, "conv_unit: SERIAL must be 0 or 1");
  end
  if (SERIAL != 0 && PIX > 1) begin : g_err_serial_pix
    $fatal(1, "conv_unit: SERIAL = 1 with PIX (%0d) > 1 is not supported", PIX);
  end
  if (KK % TAPS != 0) begin : g_err_taps
    $fatal(1, "conv_unit: TAPS (%0d) must divide K*K (%0d)", TAPS, KK);
  end
  if (C_OUT % PE != 0) begin : g_err_pe
    $fatal(1, "conv_unit: PE (%0d) must divide C_OUT (%0d)", PE, C_OUT);
  end
  if (C_IN % SIMD != 0) begin : g_err_simd
    $fatal(1, "conv_unit: SIMD (%0d) must divide C_IN (%0d)", SIMD, C_IN);
  end
  if (!(W_BITS == 1 || W_BITS == 2 || W_BITS == 4 || W_BITS == 8)) begin : g_err_wbits
    $fatal(1, "conv_unit: W_BITS (%0d) must be 1, 2, 4 or 8", W_BITS);
  end
  if (!(A_BITS == 1 || A_BITS == 2 || A_BITS == 4 || A_BITS == 8)) begin : g_err_abits
    $fatal(1, "conv_unit: A_BITS (%0d) must be 1, 2, 4 or 8", A_BITS);
  end
  if (DOT_PIPE < 1 || DOT_PIPE > 3) begin : g_err_dot_pipe
    $fatal(1, "conv_unit: DOT_PIPE must be 1, 2 or 3");
  end
  if (DSP_MULS < 0 || DSP_MULS > PIX * PE * NTERM) begin : g_err_dsp
    $fatal(1, "conv_unit: DSP_MULS (%0d) must be 0..PIX*PE*SIMD*TAPS (%0d)", DSP_MULS, PIX * PE * NTERM);
  end
  if (ACC_W < DOT_W || ACC_W < 32) begin : g_err_acc
    $fatal(1, "conv_unit: ACC_W (%0d) must be >= max(32, %0d)", ACC_W, DOT_W);
  end
  if (SUM_W < DOT_W || SUM_W > ACC_W) begin : g_err_sum
    $fatal(1, "conv_unit: SUM_W (%0d) must be %0d..ACC_W (%0d)", SUM_W, DOT_W, ACC_W);
  end

  // ---- memories ---------------------------------------------------------------------------
  logic [WW-1:0]    w_mem [FOLDS];
  logic [31:0]      b_mem [C_OUT];

  // Simulation: both files are checked before they are loaded (rtl/mem_check.svh): a missing
  // file, a word count other than the depth, a non-hex word or a word wider than the memory
  // stops the simulation with $fatal naming the file.
`ifndef SYNTHESIS
`include "mem_check.svh"
  initial begin
    mem_check("conv_unit W_FILE", W_FILE, FOLDS, WW);
    mem_check("conv_unit B_FILE", B_FILE, C_OUT, 32);
    $readmemh(W_FILE, w_mem);
    $readmemh(B_FILE, b_mem);
  end
`else
  initial begin
    if (W_FILE != "") $readmemh(W_FILE, w_mem);
    if (B_FILE != "") $readmemh(B_FILE, b_mem);
  end
`endif

  // ---- control ----------------------------------------------------------------------------
  logic en;             // pipeline advance: low only while a finished result waits in the ring
  logic full_q;         // ring holds a finished result the output register could not take yet
  assign en = !full_q;

  // ---- issue stage: fold counters over the held input window ------------------------------
  // No copy of the beat: AXI-Stream keeps s_axis_tdata stable until its handshake, which
  // comes with the beat's last fold (a PIX*K*K*C_IN*A_BITS-bit register less, 288 FFs for
  // tiny's conv2 at PIX = 1).
  logic [AW-1:0]        addr_q;   // og*NF + fg
  logic [AW-1:0]        addr_d;   // addr_q's next value (the weight memory can read ahead)
  logic [OGW-1:0]       og_q;
  logic [FGW-1:0]       fg_q;     // ig*NT + tg
  logic                 og_end, fg_end, issue;
  logic                 beat_end_q;  // og_end && fg_end: the beat's last fold is at issue

  // A one-value counter ends every cycle: said as a constant (synthesis does not reason from
  // the counters' reset state). The beat's end is also a flip-flop, set from the counters'
  // next values, so that s_axis_tready (the upstream ready chain's head) is one LUT of two
  // registers instead of the counter compares.
  assign fg_end        = (NF == 1) || (fg_q == FGW'(NF - 1));
  assign og_end        = (NO == 1) || (og_q == OGW'(NO - 1));
  assign issue         = en && s_axis_tvalid;
  assign s_axis_tready = en && beat_end_q;
  assign addr_d        = !issue ? addr_q : beat_end_q ? '0 : addr_q + AW'(1);

  logic [OGW-1:0] og_d;
  logic [FGW-1:0] fg_d;
  assign fg_d = !issue ? fg_q : fg_end ? '0 : fg_q + FGW'(1);
  assign og_d = !(issue && fg_end) ? og_q : og_end ? '0 : og_q + OGW'(1);

  always_ff @(posedge clk) begin
    if (rst) begin
      addr_q     <= '0;
      og_q       <= '0;
      fg_q       <= '0;
      beat_end_q <= (NF == 1) && (NO == 1);
    end else begin
      addr_q     <= addr_d;
      fg_q       <= fg_d;
      og_q       <= og_d;
      beat_end_q <= ((NF == 1) || (fg_d == FGW'(NF - 1))) && ((NO == 1) || (og_d == OGW'(NO - 1)));
    end
  end


  // Activation slice of fold fg = ig*NT + tg, lane s*TAPS + u = window lane
  // (tg*TAPS + u)*C_IN + ig*SIMD + s, matching the weight lane order (pe*SIMD + s)*TAPS + u.
  // Pixel p's slices are win_grp[p]; the slice of fold g is [g*GW +: GW].
  logic [PIX-1:0][NF*GW-1:0] win_grp;
  always_comb begin
    for (int p = 0; p < PIX; p++) begin
      for (int g = 0; g < NF; g++) begin
        for (int s = 0; s < SIMD; s++) begin
          for (int u = 0; u < TAPS; u++) begin
            win_grp[p][(g*NTERM + s*TAPS + u)*A_BITS +: A_BITS] = s_axis_tdata[
                p*WIN_W + (((g % NT)*TAPS + u)*C_IN + (g / NT)*SIMD + s)*A_BITS +: A_BITS];
          end
        end
      end
    end
  end

  // ---- S1: weight ROM output and activation slice -----------------------------------------
  logic [WW-1:0]          w_q;
  logic [PIX-1:0][GW-1:0] s1_x_q;   // pixel p's slice at [p]
  logic                   s1_valid_q, s1_first_q, s1_shift_q, s1_final_q, s1_last_q;
  logic [OGW-1:0]         s1_og_q;

  if (W_AHEAD) begin : g_w_ahead
    // A memory this deep goes to block RAM, whose output comes late after the clock edge:
    // read a cycle ahead (addr_d) into the RAM's own register, then into w_q, so that the
    // products start from a fabric register. Same cycle behaviour as the plain read.
    logic [WW-1:0] w_rd_q;
    always_ff @(posedge clk) begin
      w_rd_q <= w_mem[rst ? '0 : addr_d];
    end
    always_ff @(posedge clk) begin
      if (en) w_q <= w_rd_q;
    end
  end else if (FOLDS > 1) begin : g_w_rom
    always_ff @(posedge clk) begin
      if (en) begin
        w_q <= w_mem[addr_q];
      end
    end
  end else begin : g_w_const
    // One weight word: it never changes, so no read register; synthesis sees constants and
    // builds constant multiplies (a lut_mul keeps only the adders of the weight's set bits).
    assign w_q = w_mem[0];
  end

  always_ff @(posedge clk) begin
    if (rst) begin
      s1_valid_q <= 1'b0;
    end else if (en) begin
      s1_valid_q <= issue;
    end
  end

  always_ff @(posedge clk) begin
    if (issue) begin
      for (int p = 0; p < PIX; p++) s1_x_q[p] <= win_grp[p][fg_q*GW +: GW];
      s1_first_q <= (fg_q == '0);
      s1_shift_q <= fg_end;
      s1_final_q <= beat_end_q;
      s1_og_q    <= og_q;
      s1_last_q  <= s_axis_tlast;
    end
  end

  // One dot product per pixel and PE over the SIMD*TAPS lanes (rtl/lane_dot.sv): int8 x uint8
  // multiplies by default, XNOR-popcount or sign selects for 1-bit sides; the products are
  // registered (stage P), then one balanced adder tree each. PE pe's weights feed all PIX
  // pixels; pixel p, PE pe is dot lane p*PE + pe.
  logic [PIX*PE*DOT_W-1:0] dot;
  for (genvar p = 0; p < PIX; p++) begin : g_pix
    for (genvar pe = 0; pe < PE; pe++) begin : g_pe
      // DSP_MULS products in DSP blocks, counted from dot lane 0
      localparam int DSP_LEFT = DSP_MULS - (p*PE + pe) * NTERM;
      lane_dot #(
        .W_BITS   (W_BITS),
        .A_BITS   (A_BITS),
        .N        (NTERM),
        .OUT_W    (DOT_W),
        .PIPE     (DOT_PIPE),
        .DSP_LANES(DSP_LEFT < 0 ? 0 : DSP_LEFT > NTERM ? NTERM : DSP_LEFT)
      ) u_dot (
        .clk(clk),
        .en (en),
        .w  (w_q[pe*NTERM*W_BITS +: NTERM*W_BITS]),
        .a  (s1_x_q[p]),
        .dot(dot[(p*PE + pe)*DOT_W +: DOT_W])
      );
    end
  end

  // ---- P (and Q): the dot product's DOT_PIPE stages inside lane_dot; the control follows --
  // The fold's control {first, shift, final, og, last}: one register per stage.
  localparam int CTL_W = 4 + OGW;
  logic [DOT_PIPE:0]   d_valid;
  logic [CTL_W-1:0]    d_ctl [DOT_PIPE+1];
  logic                dot_valid, dot_first, dot_shift, dot_final, dot_last;
  logic [OGW-1:0]      dot_og;

  assign d_valid[0] = s1_valid_q;
  assign d_ctl[0]   = {s1_first_q, s1_shift_q, s1_final_q, s1_og_q, s1_last_q};
  for (genvar i = 1; i <= DOT_PIPE; i++) begin : g_ctl
    always_ff @(posedge clk) begin
      if (rst) begin
        d_valid[i] <= 1'b0;
      end else if (en) begin
        d_valid[i] <= d_valid[i-1];
      end
    end
    always_ff @(posedge clk) begin
      if (en && d_valid[i-1]) d_ctl[i] <= d_ctl[i-1];
    end
  end
  assign dot_valid = d_valid[DOT_PIPE];
  assign {dot_first, dot_shift, dot_final, dot_og, dot_last} = d_ctl[DOT_PIPE];

  // ---- S2: dot products; accumulate into the ring -----------------------------------------
  logic [PIX*PE*DOT_W-1:0] s2_dot_q;
  logic                s2_valid_q, s2_first_q, s2_shift_q, s2_final_q, s2_last_q;
  logic [OGW-1:0]      s2_og_q;

  always_ff @(posedge clk) begin
    if (rst) begin
      s2_valid_q <= 1'b0;
    end else if (en) begin
      s2_valid_q <= dot_valid;
    end
  end

  always_ff @(posedge clk) begin
    if (en && dot_valid) begin
      s2_dot_q   <= dot;
      s2_first_q <= dot_first;
      s2_shift_q <= dot_shift;
      s2_final_q <= dot_final;
      s2_og_q    <= dot_og;
      s2_last_q  <= dot_last;
    end
  end

  logic [OUT_W-1:0]       ring_q, ring_d;
  logic [PIX*GRP_W-1:0]   grp_new;   // pixel p's group at [p*GRP_W +: GRP_W]
  logic                   acc_fire, final_fire, emit_last;

  assign acc_fire   = en && s2_valid_q;
  // A result leaves when the window is done, or (SERIAL) when each output group is done.
  assign final_fire = acc_fire && ((SERIAL != 0) ? s2_shift_q : s2_final_q);
  assign emit_last  = s2_last_q && ((SERIAL != 0) ? s2_final_q : 1'b1);

  always_comb begin
    logic signed [SUM_W-1:0] base;
    logic [BAW-1:0]          bidx;
    for (int p = 0; p < PIX; p++) begin
      for (int pe = 0; pe < PE; pe++) begin
        bidx = BAW'(int'(s2_og_q) * PE + pe);
        // The bias fits SUM_W bits (planner), so keeping its low bits is exact.
        base = s2_first_q ? SUM_W'($signed(b_mem[bidx]))
                          : $signed(ring_q[p*RING_W + pe*SUM_W +: SUM_W]);
        grp_new[(p*PE + pe)*SUM_W +: SUM_W] =
            base + SUM_W'($signed(s2_dot_q[(p*PE + pe)*DOT_W +: DOT_W]));
      end
    end
    ring_d = ring_q;
    if (acc_fire) begin
      for (int p = 0; p < PIX; p++) begin
        if (s2_shift_q) begin
          // group done: rotate so the next group comes to the head, this one goes to the tail
          if (RING_G > 1) ring_d[p*RING_W +: RING_W] = ring_q[p*RING_W +: RING_W] >> GRP_W;
          ring_d[p*RING_W + (RING_G-1)*GRP_W +: GRP_W] = grp_new[p*GRP_W +: GRP_W];
        end else begin
          ring_d[p*RING_W +: GRP_W] = grp_new[p*GRP_W +: GRP_W];
        end
      end
    end
  end

  always_ff @(posedge clk) begin
    ring_q <= ring_d;
  end

  // ---- output register (second buffer) ----------------------------------------------------
  logic [OUT_W-1:0]       out_q;
  logic                   out_valid_q, out_last_q, ring_last_q, out_free, load_out;

  assign out_free = !out_valid_q || m_axis_tready;
  assign load_out = out_free && (full_q || final_fire);

  always_ff @(posedge clk) begin
    if (rst) begin
      out_valid_q <= 1'b0;
      full_q      <= 1'b0;
    end else begin
      if (load_out) begin
        out_valid_q <= 1'b1;
      end else if (m_axis_tready) begin
        out_valid_q <= 1'b0;
      end
      if (final_fire && !out_free) begin
        full_q <= 1'b1;
      end else if (full_q && out_free) begin
        full_q <= 1'b0;
      end
    end
  end

  always_ff @(posedge clk) begin
    if (final_fire) begin
      ring_last_q <= emit_last;
    end
    if (load_out) begin
      out_q      <= ring_d;            // ring_d == ring_q while full_q (pipeline held)
      out_last_q <= full_q ? ring_last_q : emit_last;
    end
  end

  // Each lane sign-extended from SUM_W to ACC_W bits (wires only).
  for (genvar l = 0; l < LANES; l++) begin : g_out
    assign m_axis_tdata[l*ACC_W +: ACC_W] = ACC_W'($signed(out_q[l*SUM_W +: SUM_W]));
  end
  assign m_axis_tlast  = out_last_q;
  assign m_axis_tvalid = out_valid_q;
endmodule
