// lane_dot: precision-generic dot product of N weight lanes and N activation lanes
// (combinational, or pipelined: PIPE), the arithmetic core of conv_unit and fc_unit.
//
//   dot = sum_{k=0..N-1} prod(w[k], a[k])
//
// Lanes: weight k at w[k*W_BITS +: W_BITS], activation k at a[k*A_BITS +: A_BITS].
// Encodings (docs/rtl-library.md, "Low-bit arithmetic contract"):
//   W_BITS = 1: bipolar, bit 1 -> +1, bit 0 -> -1;  W_BITS in {2,4,8}: signed two's complement.
//   A_BITS = 1: bipolar, bit 1 -> +1, bit 0 -> -1;  A_BITS in {2,4,8}: unsigned 0..2^A_BITS-1.
// Products, by kind (no `*` operator, hence no multiplier or DSP, when either side is 1 bit):
//   w1a1  XNOR: +1 if the bits are equal, else -1. The lanes are summed as a popcount:
//         dot = 2*popcount(~(w ^ a)) - N.
//   w1    (A_BITS > 1): sign select, w bit 1 -> +a, 0 -> -a.
//   a1    (W_BITS > 1): sign select, a bit 1 -> +w, 0 -> -w.
//   else  w * a (signed x unsigned multiply; W_BITS = A_BITS = 8 is the int8 x uint8 product
//         conv_unit and fc_unit always had): lanes k < DSP_LANES with the `*` operator, which
//         synthesis maps to a DSP block, the others with rtl/lut_mul.sv in logic cells.
// Products (or XNOR bits) are summed by one balanced adder tree (leaves padded with zeros to
// a power of two), so the logic depth is log2(N) adders.
//
// Output: dot, signed, OUT_W bits (sign-extended). The exact width needed is
//   DOT_W = PROD_W + clog2(N) with PROD_W = 2 (w1a1), A_BITS + 1 (w1), W_BITS + 1 (a1),
//   W_BITS + A_BITS (multiply); OUT_W < DOT_W stops elaboration with $fatal. The w1a1 popcount
//   itself is clog2(N+1) bits wide.
//
// Parameters:
//   W_BITS, A_BITS  lane widths, each in {1, 2, 4, 8}
//   N               lanes (terms) summed, >= 1
//   OUT_W           output width, >= DOT_W
//   PIPE            0: purely combinational (the users register its inputs and its output);
//                   1: the products (w1a1: the XNOR bits) are registered when `en` is high, the
//                   adder tree follows the register: latency 1 cycle, and the multiplier and
//                   the tree are no longer one timing path (on FPGAs the register can sit in
//                   the DSP block's output register);
//                   2: also the partial sums halfway up the adder tree (after ceil(L/2) of its
//                   L = clog2(N) levels): latency 2, for trees too deep for one clock cycle
//                   (tiny's conv2, 36 terms: 6 levels, 15 ns on the ECP5, docs/synthesis.md);
//                   3: one register more on every lane: a DSP lane's operands, registered
//                   with its product in rtl/dsp_mul.sv, the DSP block's own registers after
//                   synthesis (the inputs fan out to many lanes and DSP blocks sit in rows of
//                   their own: 11.5 ns of tiny's conv2 on the ECP5-25k, 7 of it routing); a
//                   lut_mul lane's first adder level (lut_mul PIPE = 1); a sign-select lane's
//                   product, delayed. The mid-tree register one level lower, after
//                   floor((L-1)/2) levels: the products leave the DSP rows through ~3 ns of
//                   routing. Latency 3.
//   DSP_LANES       0..N (default N): the lanes whose product is a `*` (a DSP block after
//                   synthesis); the others use lut_mul. Same products either way: only where
//                   they are built differs. No effect on the multiplier-free kinds.
// clk and en are used only with PIPE >= 1.
module lane_dot #(
  parameter int W_BITS = 8,
  parameter int A_BITS = 8,
  parameter int N      = 1,
  parameter int OUT_W  = 16,
  parameter int PIPE   = 0,
  parameter int DSP_LANES = N
) (
  input  logic                clk,
  input  logic                en,
  input  logic [N*W_BITS-1:0] w,
  input  logic [N*A_BITS-1:0] a,
  output logic [OUT_W-1:0]    dot
);
  localparam bit W1     = (W_BITS == 1);
  localparam bit A1     = (A_BITS == 1);
  localparam int PROD_W = (W1 && A1) ? 2 : W1 ? A_BITS + 1 : A1 ? W_BITS + 1 : W_BITS + A_BITS;
  localparam int DOT_W  = PROD_W + $clog2(N);
  localparam int NP2    = 1 << $clog2(N);          // adder tree leaves (power of two)
  localparam int LV     = $clog2(N);               // adder tree levels
  // levels before the mid-tree register: halfway, or with PIPE = 3 one level lower (the DSP
  // lanes' products come out of DSP blocks registered, then cross ~3 ns of routing first)
  localparam int CUT    = (PIPE == 3) ? (LV - 1) / 2 : (PIPE == 2) ? (LV + 1) / 2 : LV;
  localparam int NMID   = NP2 >> CUT;              // partial sums at the cut

  // ---- elaboration-time parameter checks --------------------------------------------------
  if (!(W_BITS == 1 || W_BITS == 2 || W_BITS == 4 || W_BITS == 8)) begin : g_err_w
    $fatal(1, "lane_dot: W_BITS (%0d) must be 1, 2, 4 or 8", W_BITS);
  end
  if (!(A_BITS == 1 || A_BITS == 2 || A_BITS == 4 || A_BITS == 8)) begin : g_err_a
    $fatal(1, "lane_dot: A_BITS (%0d) must be 1, 2, 4 or 8", A_BITS);
  end
  if (N < 1) begin : g_err_n
    $fatal(1, "lane_dot: N must be >= 1");
  end
  if (PIPE < 0 || PIPE > 3) begin : g_err_pipe
    $fatal(1, "lane_dot: PIPE must be 0, 1, 2 or 3");
  end
  if (DSP_LANES < 0 || DSP_LANES > N) begin : g_err_dsp
    $fatal(1, "lane_dot: DSP_LANES (%0d) must be 0..N (%0d)", DSP_LANES, N);
  end
  if (OUT_W < DOT_W) begin : g_err_out
    $fatal(1, "lane_dot: OUT_W (%0d) must be >= %0d for W_BITS=%0d A_BITS=%0d N=%0d",
           OUT_W, DOT_W, W_BITS, A_BITS, N);
  end

  if (W1 && A1) begin : g_xnor
    // XNOR-popcount: the tree sums N one-bit "equal" flags.
    localparam int CNT_W = $clog2(N + 1);
    logic [CNT_W-1:0] pop;
    wire  [N-1:0]     eq_d = w ~^ a;   // lane k: 1 when the bits are equal (product +1)
    logic [N-1:0]     eq;
    if (PIPE == 3) begin : g_dly     // no DSP: the bits delayed one register more
      logic [N-1:0] dly_q;
      always_ff @(posedge clk) begin
        if (en) begin
          dly_q <= eq_d;
          eq    <= dly_q;
        end
      end
    end else if (PIPE != 0) begin : g_reg
      always_ff @(posedge clk) begin
        if (en) eq <= eq_d;
      end
    end else begin : g_comb
      assign eq = eq_d;
    end
    // Unpacked arrays, not packed vectors: Verilator keeps each element in a machine word,
    // where slices of a wide packed vector cost shifts and masks (1.7x on lenet5).
    logic [CNT_W-1:0] mid_d [NMID], mid [NMID];  // the tree's partial sums at the cut
    always_comb begin
      logic [CNT_W-1:0] lvl [NP2];
      for (int k = 0; k < NP2; k++) begin
        lvl[k] = (k < N) ? CNT_W'(eq[k]) : '0;
      end
      for (int step = 1; step < (1 << CUT); step = step * 2) begin
        for (int k = 0; k < NP2; k = k + 2 * step) begin
          lvl[k] = lvl[k] + lvl[k+step];
        end
      end
      for (int j = 0; j < NMID; j++) mid_d[j] = lvl[j << CUT];
    end
    if (PIPE >= 2) begin : g_mid
      always_ff @(posedge clk) begin
        if (en) mid <= mid_d;
      end
    end else begin : g_no_mid
      assign mid = mid_d;
    end
    always_comb begin
      logic [CNT_W-1:0] lvl [NMID];
      lvl = mid;
      for (int step = 1; step < NMID; step = step * 2) begin
        for (int k = 0; k < NMID; k = k + 2 * step) begin
          lvl[k] = lvl[k] + lvl[k+step];
        end
      end
      pop = lvl[0];
    end
    // 2*pop - N, in DOT_W bits (|2*pop - N| <= N < 2**(DOT_W-1))
    wire signed [DOT_W-1:0] xdot = DOT_W'({pop, 1'b0}) - DOT_W'(N);
    assign dot = OUT_W'(xdot);
  end else begin : g_prod
    // One product per lane (the kind is chosen at elaboration: only one of these exists).
    logic signed [PROD_W-1:0] prods [N];  // the products as the tree reads them
    for (genvar k = 0; k < N; k++) begin : g_lane
      // PIPE = 3, one more register on every lane's way to the tree: a DSP lane registers its
      // operands (rtl/dsp_mul.sv: in the DSP block, where the flow packs them), a lut_mul lane
      // its first adder level, a sign-select lane its product, delayed. (Copying the lut_mul
      // lanes' operands too would give synthesis identical registers to merge into one with
      // the old fan-out.)
      localparam bit MUL      = !W1 && !A1;
      localparam bit DSP_REGS = (PIPE == 3) && MUL && (k < DSP_LANES);  // a dsp_mul
      localparam bit LUT_PIPE = (PIPE == 3) && MUL && (k >= DSP_LANES);
      localparam bit PROD_DLY = (PIPE == 3) && !MUL;
      if (DSP_REGS) begin : g_dsp
        // operands and product registered as inside a DSP block (rtl/dsp_mul.sv; the ECP5
        // flow builds it on one MULT18X18D with its registers on)
        wire signed [PROD_W-1:0] p;
        assign prods[k] = p;
        dsp_mul #(
          .W_BITS(W_BITS),
          .A_BITS(A_BITS)
        ) u_mul (
          .clk(clk),
          .en (en),
          .w  (w[k*W_BITS +: W_BITS]),
          .a  (a[k*A_BITS +: A_BITS]),
          .p  (p)
        );
      end else begin : g_fabric
        wire [W_BITS-1:0] wk = w[k*W_BITS +: W_BITS];
        wire [A_BITS-1:0] ak = a[k*A_BITS +: A_BITS];
        logic signed [PROD_W-1:0] prod_d;  // the product before its register(s)
        if (W1) begin : g_wsel
          // +a or -a: a is unsigned, PROD_W = A_BITS + 1 bits signed hold both
          wire signed [PROD_W-1:0] ax = {1'b0, ak};
          assign prod_d = wk[0] ? ax : -ax;
        end else if (A1) begin : g_asel
          // +w or -w: -(-2**(W_BITS-1)) needs PROD_W = W_BITS + 1 bits
          wire signed [PROD_W-1:0] wx = {wk[W_BITS-1], wk};
          assign prod_d = ak[0] ? wx : -wx;
        end else if (k < DSP_LANES) begin : g_mul
          // signed x unsigned: the activation gets a zero sign bit
          wire signed [PROD_W-1:0] p = $signed(wk) * $signed({1'b0, ak});
          assign prod_d = p;
        end else begin : g_lut
          // through a plain wire: Yosys elaborates a port connected to an array element only
          // once it knows the port's direction, re-deriving (and renaming) a chparam'd top
          wire signed [PROD_W-1:0] p;
          assign prod_d = p;
          lut_mul #(
            .W_BITS(W_BITS),
            .A_BITS(A_BITS),
            .PIPE  (LUT_PIPE ? 1 : 0)
          ) u_mul (
            .clk(clk),
            .en (en),
            .w  (wk),
            .a  (ak),
            .p  (p)
          );
        end
        if (PROD_DLY) begin : g_dly
          logic signed [PROD_W-1:0] dly_q;
          always_ff @(posedge clk) begin
            if (en) begin
              dly_q    <= prod_d;
              prods[k] <= dly_q;
            end
          end
        end else if (PIPE != 0) begin : g_reg
          always_ff @(posedge clk) begin
            if (en) prods[k] <= prod_d;
          end
        end else begin : g_comb
          assign prods[k] = prod_d;
        end
      end
    end

    logic signed [DOT_W-1:0] mid_d [NMID], mid [NMID];  // unpacked: see the XNOR tree above
    always_comb begin
      logic signed [DOT_W-1:0] lvl [NP2];
      for (int k = 0; k < NP2; k++) begin
        lvl[k] = (k < N) ? DOT_W'(prods[k]) : '0;
      end
      for (int step = 1; step < (1 << CUT); step = step * 2) begin
        for (int k = 0; k < NP2; k = k + 2 * step) begin
          lvl[k] = lvl[k] + lvl[k+step];
        end
      end
      for (int j = 0; j < NMID; j++) mid_d[j] = lvl[j << CUT];
    end
    if (PIPE >= 2) begin : g_mid
      always_ff @(posedge clk) begin
        if (en) mid <= mid_d;
      end
    end else begin : g_no_mid
      assign mid = mid_d;
    end
    always_comb begin
      logic signed [DOT_W-1:0] lvl [NMID];
      lvl = mid;
      for (int step = 1; step < NMID; step = step * 2) begin
        for (int k = 0; k < NMID; k = k + 2 * step) begin
          lvl[k] = lvl[k] + lvl[k+step];
        end
      end
      dot = OUT_W'(lvl[0]);
    end
  end

  if (PIPE == 0) begin : g_no_clk
    logic unused_clk;
    assign unused_clk = clk ^ en;
  end
endmodule
