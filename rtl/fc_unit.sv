// fc_unit: fully connected layer (matrix-vector product) streaming over its input beats.
//
// A frame is IN_BEATS input beats of C_IN A_BITS-wide lanes: the flattened input vector in
// stream order, x[b*C_IN + c] = lane c of beat b (at [c*A_BITS +: A_BITS]). For o = 0..C_OUT-1
// it computes
//
//   acc[o] = bias[o] + sum_{b,c} w[o][b*C_IN + c] * x[b*C_IN + c]
//
// with w int8 (signed) and x uint8 (unsigned) by default (other precisions below),
// accumulating beat by beat (the input vector is never buffered), and emits ONE output beat
// per frame: C_OUT signed ACC_W lanes, channel o at tdata[o*ACC_W +: ACC_W], m_axis_tlast = 1. Beats are counted; s_axis_tlast is ignored.
// The result is double-buffered (OUT_REG = 1): the next frame accumulates while the output
// waits. OUT_REG = 0 sends the result straight from the accumulators and holds the unit until
// it is taken: C_OUT*SUM_W flip-flops fewer, one cycle more per frame (for small FPGAs).
//
// Low-bit / binarized (FINN-style) arithmetic, W_BITS and A_BITS each in {1, 2, 4, 8}
// (rtl/lane_dot.sv, docs/rtl-library.md "Low-bit arithmetic contract"):
//   weights:     1 = bipolar (bit 1 -> +1, bit 0 -> -1), else signed two's complement
//   activations: 1 = bipolar (bit 1 -> +1, bit 0 -> -1), else unsigned 0..2^A_BITS-1
//   product:     w1a1 XNOR (+1 if the bits are equal, else -1; a SIMD-lane group sums as
//                2*popcount(~(w ^ x)) - SIMD); w1: +x or -x; a1: +w or -w; else w*x.
//                No multiplier when either side is 1 bit. The accumulation (int32 bias,
//                signed SUM_W) is the same for every precision.
// W_BITS = A_BITS = 8 (the defaults) is the int8 x uint8 unit, unchanged.
//
// Parameters:
//   IN_BEATS   input beats per frame
//   C_IN       activation lanes per input beat, C_OUT outputs
//   PE         outputs computed in parallel               (PE   divides C_OUT)
//   SIMD       lanes of one input beat used per cycle     (SIMD divides C_IN)
//   W_BITS     weight lane width, 1 (bipolar), 2, 4, 8 (signed); default 8
//   A_BITS     activation lane width, 1 (bipolar), 2, 4, 8 (unsigned); default 8
//   ACC_W      output lane width (32: the int32 the next stage reads)
//   SUM_W      accumulator width inside the unit, DOT_W..ACC_W (default ACC_W). The
//              accumulators, bias and result buffer hold SUM_W bits and each output lane is
//              their sign extension to ACC_W. A narrower SUM_W saves 2*C_OUT*(ACC_W-SUM_W)
//              flip-flops; it is exact only when no accumulator can leave SUM_W bits: the
//              planner (model/plan.py `sum_width`) sizes it from the layer's worst case
//              |bias| + sum|w|*max|x| (acc_bound), FINN-style, and refuses a narrower one.
//   OUT_REG    1 (default): result double-buffered in an output register; 0: no output
//              register, the result waits in the accumulators and the unit holds until it is
//              taken (throughput: one frame every IN_BEATS*FOLDS + 1 cycles at best).
//   DSP_MULS   products per cycle built as `*` (DSP blocks after synthesis), 0..PE*SIMD
//              (default all); the others are rtl/lut_mul.sv shift-and-add in logic cells
//              (lane_dot DSP_LANES, filled from PE 0). Same results and timing.
//   DOT_PIPE   1 (default): products registered before the adder tree (lane_dot PIPE = 1);
//              2: the tree's partial sums registered halfway up too, 3: and each product's
//              operands at its multiplier: one cycle more latency each (model/plan.py
//              `dot_pipe`, rtl/lane_dot.sv PIPE).
//   W_FILE     $readmemh weight file: depth IN_BEATS*(C_OUT/PE)*(C_IN/SIMD), word
//              PE*SIMD*W_BITS bits, address (b*(C_OUT/PE) + og)*(C_IN/SIMD) + ig,
//              lane pe*SIMD + s (at [(pe*SIMD + s)*W_BITS +: W_BITS])
//              = w[og*PE+pe][b*C_IN + ig*SIMD + s]
//   B_FILE     $readmemh bias file: C_OUT words of 32 bits (int32)
//   In simulation a missing file, a word count other than the depth, a non-hex word or a word
//   wider than the memory stops the simulation with $fatal naming the file (rtl/mem_check.svh,
//   so Verilator needs -Irtl). Synthesis (SYNTHESIS defined) just loads the files.
//
// Folding: FOLDS = (C_OUT/PE) * (C_IN/SIMD) cycles per input beat, PE*SIMD products per cycle.
//   Loop order: beat b, then og (output group), then ig (input group) innermost.
//
// Throughput: one input beat every FOLDS cycles, one frame (= one output beat) every
//   IN_BEATS*FOLDS cycles, sustained; one beat more is accepted ahead and waits.
// Latency: m_axis_tvalid rises FOLDS + 2 + DOT_PIPE cycles after the frame's last input beat
//   reaches the issue stage, i.e. FOLDS + 3 + DOT_PIPE cycles to the output handshake (no
//   stalls) from that beat's handshake when it came straight in; a beat that waited behind
//   the one before was accepted up to FOLDS - 1 cycles earlier.
//   (Until 2026-11-30 the products and the adder tree were one stage: one cycle less.)
//
// Pipeline: input (one beat waiting behind the issued one; s_axis_tready is its empty flag)
//        -> issue (beat register, fold counters, weight ROM address)
//        -> S1 (weight ROM output + activation slice registered; PE lane_dot instances with
//               PIPE = 1: the products)
//        -> P  (products registered in lane_dot; balanced adder tree)
//        -> S2 (dot products registered; accumulate into a ring of C_OUT/PE groups of PE lanes)
//        -> output register.
// The accumulator ring rotates by one group at the end of each output group, so the group being
// accumulated always sits at the head (no wide read muxes); after each beat it is back in lane
// order, so after the frame's last beat it holds all C_OUT results. They move to the output
// register at once when that is free; otherwise the ring keeps them and the whole pipeline
// holds until the output register drains. The pipeline enable is a register: no combinational
// path from m_axis_tready to s_axis_tready (a flip-flop); tvalid never depends on tready.
module fc_unit #(
  parameter int IN_BEATS = 1,
  parameter int C_IN     = 4,
  parameter int C_OUT    = 4,
  parameter int PE       = 1,
  parameter int SIMD     = 1,
  parameter int W_BITS   = 8,
  parameter int A_BITS   = 8,
  parameter int ACC_W    = 32,
  parameter int SUM_W    = ACC_W,
  parameter int OUT_REG  = 1,
  parameter int DOT_PIPE = 1,
  parameter int DSP_MULS = PE * SIMD,
  parameter     W_FILE   = "",
  parameter     B_FILE   = ""
) (
  input  logic                    clk,
  input  logic                    rst,
  input  logic [C_IN*A_BITS-1:0]  s_axis_tdata,
  input  logic                    s_axis_tlast,   // ignored: frames are counted
  input  logic                    s_axis_tvalid,
  output logic                    s_axis_tready,
  output logic [C_OUT*ACC_W-1:0]  m_axis_tdata,
  output logic                    m_axis_tlast,
  output logic                    m_axis_tvalid,
  input  logic                    m_axis_tready
);
  localparam int NO     = C_OUT / PE;           // output groups
  localparam int NI     = C_IN / SIMD;          // input groups
  localparam int FOLDS  = NO * NI;
  localparam int DEPTH  = IN_BEATS * FOLDS;     // weight words
  localparam int GW     = SIMD * A_BITS;        // activation slice width (one input group)
  localparam int WW     = PE * SIMD * W_BITS;   // weight word width
  // Product width (rtl/lane_dot.sv): XNOR +-1, sign select +-x or +-w, or the w*x product
  // (int8 x uint8: 16 bits signed).
  localparam int PROD_W = (W_BITS == 1 && A_BITS == 1) ? 2
                        : (W_BITS == 1) ? A_BITS + 1
                        : (A_BITS == 1) ? W_BITS + 1 : W_BITS + A_BITS;
  localparam int DOT_W  = PROD_W + $clog2(SIMD);
  localparam int GRP_W  = PE * SUM_W;           // one output group of accumulators
  localparam int AW     = (DEPTH > 1) ? $clog2(DEPTH) : 1;
  localparam int OGW    = (NO > 1) ? $clog2(NO) : 1;
  localparam int IGW    = (NI > 1) ? $clog2(NI) : 1;
  localparam int BW     = (IN_BEATS > 1) ? $clog2(IN_BEATS) : 1;
  localparam int BAW    = (C_OUT > 1) ? $clog2(C_OUT) : 1;
  // The weight ROM reads a cycle ahead when it is deep enough for block RAM (>= 64 words) and
  // its late output would head a long path: products in logic cells (lut_mul's carry chains,
  // DSP_MULS below all) or a pipelined dot product (DOT_PIPE >= 2). A plain read saves the
  // register otherwise: the UP5K's `up5k` folding (all DSP, one-cycle trees) did not place
  // with the 24 flip-flops its conv2 ROM's read-ahead cost.
  localparam bit W_AHEAD = (DEPTH >= 64) && (DOT_PIPE >= 2 || DSP_MULS < PE * SIMD);

  // ---- elaboration-time parameter checks --------------------------------------------------
  if (IN_BEATS < 1 || C_IN < 1 || C_OUT < 1 || PE < 1 || SIMD < 1) begin : g_err_pos
    $fatal(1, "fc_unit: IN_BEATS, C_IN, C_OUT, PE, SIMD must be >= 1");
  end
  if (C_OUT % PE != 0) begin : g_err_pe
    $fatal(1, "fc_unit: PE (%0d) must divide C_OUT (%0d)", PE, C_OUT);
  end
  if (C_IN % SIMD != 0) begin : g_err_simd
    $fatal(1, "fc_unit: SIMD (%0d) must divide C_IN (%0d)", SIMD, C_IN);
  end
  if (!(W_BITS == 1 || W_BITS == 2 || W_BITS == 4 || W_BITS == 8)) begin : g_err_wbits
    $fatal(1, "fc_unit: W_BITS (%0d) must be 1, 2, 4 or 8", W_BITS);
  end
  if (!(A_BITS == 1 || A_BITS == 2 || A_BITS == 4 || A_BITS == 8)) begin : g_err_abits
    $fatal(1, "fc_unit: A_BITS (%0d) must be 1, 2, 4 or 8", A_BITS);
  end
  if (DOT_PIPE < 1 || DOT_PIPE > 3) begin : g_err_dot_pipe
    $fatal(1, "fc_unit: DOT_PIPE must be 1, 2 or 3");
  end
  if (DSP_MULS < 0 || DSP_MULS > PE * SIMD) begin : g_err_dsp
    $fatal(1, "fc_unit: DSP_MULS (%0d) must be 0..PE*SIMD (%0d)", DSP_MULS, PE * SIMD);
  end
  if (ACC_W < 32) begin : g_err_acc
    $fatal(1, "fc_unit: ACC_W (%0d) must be >= 32", ACC_W);
  end
  if (OUT_REG != 0 && OUT_REG != 1) begin : g_err_out_reg
    $fatal(1, "fc_unit: OUT_REG must be 0 or 1");
  end
  if (SUM_W < DOT_W || SUM_W > ACC_W) begin : g_err_sum
    $fatal(1, "fc_unit: SUM_W (%0d) must be %0d..ACC_W (%0d)", SUM_W, DOT_W, ACC_W);
  end

  // ---- memories ---------------------------------------------------------------------------
  logic [WW-1:0]    w_mem [DEPTH];
  logic [31:0]      b_mem [C_OUT];

  // Simulation: both files are checked before they are loaded (rtl/mem_check.svh): a missing
  // file, a word count other than the depth, a non-hex word or a word wider than the memory
  // stops the simulation with $fatal naming the file.
`ifndef SYNTHESIS
`include "mem_check.svh"
  initial begin
    mem_check("fc_unit W_FILE", W_FILE, DEPTH, WW);
    mem_check("fc_unit B_FILE", B_FILE, C_OUT, 32);
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

  // ---- issue stage: beat register and fold counters ---------------------------------------
  logic [C_IN*A_BITS-1:0] beat_q;
  logic              beat_valid_q;
  logic [AW-1:0]     addr_q;   // (b*NO + og)*NI + ig
  logic [AW-1:0]     addr_d;   // addr_q's next value (the weight memory can read ahead)
  logic [BW-1:0]     b_q;
  logic [OGW-1:0]    og_q;
  logic [IGW-1:0]    ig_q;
  logic              b_end, og_end, ig_end, issue;

  assign ig_end        = (ig_q == IGW'(NI - 1));
  assign og_end        = (og_q == OGW'(NO - 1));
  assign b_end         = (b_q == BW'(IN_BEATS - 1));
  assign issue         = en && beat_valid_q;
  assign addr_d        = !issue ? addr_q : (b_end && og_end && ig_end) ? '0 : addr_q + AW'(1);

  // One beat waits behind the one being issued (nxt_q): s_axis_tready is then a flip-flop and
  // the fold counters' compares stay out of the stage before (on the ECP5-25k, fc2's counters
  // -> its tready -> fc1's requant -> fc1's output register enable was tiny's critical path).
  // A beat moves up the cycle beat_q frees, when the unit would have taken it directly.
  logic [C_IN*A_BITS-1:0] nxt_q;
  logic                   nxt_valid_q, beat_free, in_fire;
  assign beat_free     = en && (!beat_valid_q || (og_end && ig_end));
  assign s_axis_tready = !nxt_valid_q;
  assign in_fire       = s_axis_tvalid && !nxt_valid_q;

  always_ff @(posedge clk) begin
    if (rst) begin
      beat_valid_q <= 1'b0;
      nxt_valid_q  <= 1'b0;
      addr_q       <= '0;
      b_q          <= '0;
      og_q         <= '0;
      ig_q         <= '0;
    end else begin
      if (beat_free) begin
        beat_valid_q <= nxt_valid_q || in_fire;
        nxt_valid_q  <= 1'b0;
      end else if (in_fire) begin
        nxt_valid_q  <= 1'b1;
      end
      addr_q <= addr_d;
      if (issue) begin
        ig_q   <= ig_end ? '0 : ig_q + IGW'(1);
        if (ig_end) og_q <= og_end ? '0 : og_q + OGW'(1);
        if (ig_end && og_end) b_q <= b_end ? '0 : b_q + BW'(1);
      end
    end
  end

  always_ff @(posedge clk) begin
    if (beat_free) begin
      beat_q <= nxt_valid_q ? nxt_q : s_axis_tdata;
    end
    if (in_fire && !beat_free) begin
      nxt_q <= s_axis_tdata;
    end
  end

  // ---- S1: weight ROM output and activation slice -----------------------------------------
  logic [WW-1:0]    w_q;
  logic [GW-1:0]    s1_x_q;
  logic             s1_valid_q, s1_first_q, s1_shift_q, s1_final_q;
  logic [OGW-1:0]   s1_og_q;

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
  end else begin : g_w_rom
    always_ff @(posedge clk) begin
      if (en) begin
        w_q <= w_mem[addr_q];
      end
    end
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
      s1_x_q     <= beat_q[ig_q*GW +: GW];
      s1_first_q <= (b_q == '0) && (ig_q == '0);
      s1_shift_q <= ig_end;
      s1_final_q <= b_end && og_end && ig_end;
      s1_og_q    <= og_q;
    end
  end

  // One dot product per PE over the SIMD lanes (rtl/lane_dot.sv): int8 x uint8 multiplies
  // by default, XNOR-popcount or sign selects for 1-bit sides; the products are registered
  // (stage P), then one balanced adder tree each.
  logic [PE*DOT_W-1:0] dot;
  for (genvar pe = 0; pe < PE; pe++) begin : g_pe
    localparam int DSP_LEFT = DSP_MULS - pe * SIMD;   // DSP products, counted from PE 0
    lane_dot #(
      .W_BITS   (W_BITS),
      .A_BITS   (A_BITS),
      .N        (SIMD),
      .OUT_W    (DOT_W),
      .PIPE     (DOT_PIPE),
      .DSP_LANES(DSP_LEFT < 0 ? 0 : DSP_LEFT > SIMD ? SIMD : DSP_LEFT)
    ) u_dot (
      .clk(clk),
      .en (en),
      .w  (w_q[pe*SIMD*W_BITS +: SIMD*W_BITS]),
      .a  (s1_x_q),
      .dot(dot[pe*DOT_W +: DOT_W])
    );
  end

  // ---- P (and Q): the dot product's DOT_PIPE stages inside lane_dot; the control follows --
  // The fold's control {first, shift, final, og}: one register per stage.
  localparam int CTL_W = 3 + OGW;
  logic [DOT_PIPE:0]   d_valid;
  logic [CTL_W-1:0]    d_ctl [DOT_PIPE+1];
  logic                dot_valid, dot_first, dot_shift, dot_final;
  logic [OGW-1:0]      dot_og;

  assign d_valid[0] = s1_valid_q;
  assign d_ctl[0]   = {s1_first_q, s1_shift_q, s1_final_q, s1_og_q};
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
  assign {dot_first, dot_shift, dot_final, dot_og} = d_ctl[DOT_PIPE];

  // ---- S2: dot products; accumulate into the ring -----------------------------------------
  logic [PE*DOT_W-1:0] s2_dot_q;
  logic                s2_valid_q, s2_first_q, s2_shift_q, s2_final_q;
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
    end
  end

  logic [C_OUT*SUM_W-1:0] ring_q, ring_d;
  logic [GRP_W-1:0]       grp_new;
  logic                   acc_fire, final_fire;

  assign acc_fire   = en && s2_valid_q;
  assign final_fire = acc_fire && s2_final_q;

  always_comb begin
    logic signed [SUM_W-1:0] base;
    logic [BAW-1:0]          bidx;
    for (int pe = 0; pe < PE; pe++) begin
      bidx = BAW'(int'(s2_og_q) * PE + pe);
      // The bias fits SUM_W bits (planner), so keeping its low bits is exact.
      base = s2_first_q ? SUM_W'($signed(b_mem[bidx])) : $signed(ring_q[pe*SUM_W +: SUM_W]);
      grp_new[pe*SUM_W +: SUM_W] = base + SUM_W'($signed(s2_dot_q[pe*DOT_W +: DOT_W]));
    end
    ring_d = ring_q;
    if (acc_fire) begin
      if (s2_shift_q) begin
        // group done for this beat: rotate so the next group comes to the head
        ring_d = ring_q >> GRP_W;
        ring_d[(NO-1)*GRP_W +: GRP_W] = grp_new;
      end else begin
        ring_d[0 +: GRP_W] = grp_new;
      end
    end
  end

  always_ff @(posedge clk) begin
    ring_q <= ring_d;
  end

  // ---- output: register (second buffer), or the ring itself -------------------------------
  logic [C_OUT*SUM_W-1:0] res;        // the result on the output lanes
  logic                   res_valid;

  if (OUT_REG != 0) begin : g_out_reg
    logic [C_OUT*SUM_W-1:0] out_q;
    logic                   out_valid_q, out_free, load_out;

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
      if (load_out) begin
        out_q <= ring_d;               // ring_d == ring_q while full_q (pipeline held)
      end
    end
    assign res       = out_q;
    assign res_valid = out_valid_q;
  end else begin : g_ring_out
    // The finished result stays in the ring, the pipeline held (en low), until it is taken.
    always_ff @(posedge clk) begin
      if (rst) begin
        full_q <= 1'b0;
      end else if (final_fire) begin
        full_q <= 1'b1;
      end else if (m_axis_tready) begin
        full_q <= 1'b0;
      end
    end
    assign res       = ring_q;
    assign res_valid = full_q;
  end

  // Each lane sign-extended from SUM_W to ACC_W bits (wires only).
  for (genvar o = 0; o < C_OUT; o++) begin : g_out
    assign m_axis_tdata[o*ACC_W +: ACC_W] = ACC_W'($signed(res[o*SUM_W +: SUM_W]));
  end
  assign m_axis_tlast  = 1'b1;
  assign m_axis_tvalid = res_valid;

  logic unused_tlast;
  assign unused_tlast = s_axis_tlast;
endmodule
