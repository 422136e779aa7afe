// fc_serial: fully connected layer for small FPGAs: accumulators in RAM, lane-serial output.
//
// Same arithmetic, weight file, bias file and loop order as fc_unit. A frame is IN_BEATS input
// beats of C_IN uint8 lanes, x[b*C_IN + c] = lane c of beat b. For o = 0..C_OUT-1
//
//   acc[o] = bias[o] + sum_{b,c} w[o][b*C_IN + c] * x[b*C_IN + c]
//
// with w int8 (signed), x uint8 (unsigned), accumulated beat by beat (the input vector is never
// buffered). Where fc_unit keeps all C_OUT accumulators in a rotating ring of flip-flops and
// emits one C_OUT-lane beat, fc_serial keeps them in a RAM (acc_mem, NO words of PE lanes) and
// emits NO = C_OUT/PE output beats per frame: beat og carries outputs og*PE .. og*PE+PE-1, lane
// pe at tdata[pe*ACC_W +: ACC_W] (signed), in order og = 0..NO-1, m_axis_tlast on beat NO-1
// only. Beats are counted; s_axis_tlast is ignored.
//
// Streams:
//   s_axis        input beats. The beat is NOT copied: the unit issues straight from the held
//                 s_axis_tdata (stable until the handshake) and raises s_axis_tready on the
//                 beat's last fold.
//   m_axis        output beats, one per output group.
//   s_wload_axis  weight load frames (W_LOAD = 1 only; tready = 0 when W_LOAD = 0).
//   w_valid       1: weights present (always 1 when W_LOAD = 0).
//   w_load_error  one-cycle pulse: a load frame had the wrong length.
//
// Parameters:
//   IN_BEATS   input beats per frame
//   C_IN       uint8 lanes per input beat, C_OUT outputs
//   PE         outputs computed in parallel = output lanes per beat   (PE   divides C_OUT)
//   SIMD       lanes of one input beat used per cycle                  (SIMD divides C_IN)
//   ACC_W      output lane width (>= 32)
//   SUM_W      accumulator width inside the unit, DOT_W..ACC_W (default ACC_W): acc_mem, the
//              partial sum and the output register hold SUM_W bits per lane, the bias its low
//              SUM_W bits, and each output lane is their sign extension to ACC_W (as fc_unit).
//              Exact only when no accumulator can leave SUM_W bits: the planner sizes it from
//              the worst case |bias| + sum|w|*max|x| (model/plan.py; with W_LOAD = 1 from the
//              int8 extreme -128, the loaded weights being unknown), and the carry chains are
//              that much shorter (the UP5K's critical path was fc1's 32-bit accumulate).
//   W_FILE     $readmemh weight file (W_LOAD = 0): depth DEPTH = IN_BEATS*NO*NI, word
//              PE*SIMD*8 bits, address (b*NO + og)*NI + ig,
//              lane pe*SIMD + s = w[og*PE+pe][b*C_IN + ig*SIMD + s]   (as fc_unit)
//   B_FILE     $readmemh bias file: C_OUT words of 32 bits (int32)
//   W_LOAD     0: weights from W_FILE (ROM). 1: weights loaded at run time through s_wload_axis
//              into the single-port RAM w_load_mem (W_FILE is not read; synthesis maps
//              w_load_mem to iCE40 SPRAM by its name).
//   In simulation a missing file, a word count other than the depth, a non-hex word or a word
//   wider than the memory stops the simulation with $fatal naming the file (rtl/mem_check.svh,
//   so Verilator needs -Irtl). Synthesis (SYNTHESIS defined) just loads the files.
//
// Folding: NO = C_OUT/PE output groups, NI = C_IN/SIMD input groups, FOLDS = NO*NI cycles per
//   input beat, PE*SIMD multiplies per cycle. Loop order: beat b, then og, then ig innermost.
//
// Throughput: one input beat every FOLDS cycles, one frame every IN_BEATS*FOLDS cycles,
//   sustained (back to back across frames; W_LOAD = 1 too while no load is pending).
//   Within a frame the NO output beats are NI cycles apart.
// Latency (no stalls): output beat og is handed over 3 cycles after the issue of fold
//   (og, NI-1) of the frame's last input beat. So the tlast beat's handshake comes 3 cycles
//   after the handshake of the frame's last input beat, and the first output beat's handshake
//   (NO-1)*NI cycles before that (3 - (NO-1)*NI cycles from the last input handshake).
//
// Pipeline: issue (fold counters; weight memory read; activation slice from s_axis_tdata; the
//               synchronous reads of the group's base, bias (b = 0) or acc_mem[og], which only a
//               group's first fold uses)
//        -> S1 (weight word + slice registered; multiplies + balanced adder tree; the base
//               registered in base_q, so that S2's adder sees one 2:1 mux: on the UP5K the
//               bias/accumulator/partial-sum mux in front of the carry chain was critical)
//        -> S2 (dot products registered; psum = base_q or psum_q, + dot; on a group's last fold
//               psum goes to acc_mem[og] (b < IN_BEATS-1) or to the output register (last b))
//        -> output register.
// Storage: acc_mem, NO words x PE*SUM_W bits, one synchronous read (issue) and one write (S2)
//   per cycle (block RAM when large); bias memory read synchronously (issue). Flip-flops: the
//   PE*SUM_W partial sum psum_q, base base_q, bias read register and output register, the
//   pipeline registers of fc_unit (weight word, activation slice, dot products) and control.
// Read-modify-write hazard: handled, no parameter set is rejected. Group og of beat b is
//   written at S2 of its last fold, two enabled cycles after its issue; the same group of beat
//   b+1 is read at the issue of its first fold, at least (NO-1)*NI + 1 issues later. That read
//   comes at least one clock edge after the write (stalls and bubbles only move them apart)
//   unless (NO-1)*NI + 1 = 2 (NO = 2, NI = 1) and the two folds issue back to back: then the
//   read returns the old word and base_q takes psum_q instead, which holds the group just
//   written (forwarding, flagged at the read). With NO = 1 the read would come before the
//   write: the group never leaves psum_q (the base of beat b+1 is psum_q), and acc_mem is not
//   used.
// Backpressure: if the output register is still full when the next group completes, the
//   group waits in psum_q and the whole pipeline holds (full_q) until the register drains. The
//   pipeline enable is a register: no combinational path from m_axis_tready to s_axis_tready;
//   tvalid never depends on tready.
//
// Weight load (W_LOAD = 1): after reset w_valid = 0 and no input beat is accepted (frames wait).
//   A load frame is DEPTH words in address order (the order of the W_FILE lines), tlast on the
//   last word. Exactly DEPTH words with tlast only on the last -> w_valid = 1. tlast before word
//   DEPTH, or no tlast on word DEPTH (the following words up to and including the next tlast
//   are then consumed and dropped) -> one w_load_error pulse (the cycle after the handshake of
//   the word that makes the frame wrong: the early tlast, or word DEPTH), w_valid stays 0.
//   A new load frame clears w_valid at its first word. s_wload_axis_tready is high only while
//   the unit is idle (no frame whose outputs are not all emitted) and a load is pending
//   (s_wload_axis_tvalid seen in the previous cycle) or in progress; a pending or running load
//   keeps the next frame from starting, so a load waits only for the frame in progress. The
//   weight RAM has one address: load writes and compute reads never share a cycle.
//
// Why: on the iCE40 UP5K (5,280 logic cells) fc_unit's ring and double buffer cost 2,186
//   flip-flops for tiny's fc1 (C_OUT = 32). Here the accumulators sit in block RAM and the
//   weights in block RAM or SPRAM; the flip-flops no longer scale with C_OUT (fc1 with
//   synth_ice40: 232 with W_LOAD = 0, 246 with W_LOAD = 1).
module fc_serial #(
  parameter int IN_BEATS = 1,
  parameter int C_IN     = 4,
  parameter int C_OUT    = 4,
  parameter int PE       = 1,
  parameter int SIMD     = 1,
  parameter int ACC_W    = 32,
  parameter int SUM_W    = ACC_W,
  parameter     W_FILE   = "",
  parameter     B_FILE   = "",
  parameter int W_LOAD   = 0
) (
  input  logic                    clk,
  input  logic                    rst,
  input  logic [C_IN*8-1:0]       s_axis_tdata,
  input  logic                    s_axis_tlast,   // ignored: beats are counted
  input  logic                    s_axis_tvalid,
  output logic                    s_axis_tready,
  output logic [PE*ACC_W-1:0]     m_axis_tdata,
  output logic                    m_axis_tlast,
  output logic                    m_axis_tvalid,
  input  logic                    m_axis_tready,
  input  logic [PE*SIMD*8-1:0]    s_wload_axis_tdata,
  input  logic                    s_wload_axis_tlast,
  input  logic                    s_wload_axis_tvalid,
  output logic                    s_wload_axis_tready,
  output logic                    w_valid,        // weights present (always 1 when W_LOAD = 0)
  output logic                    w_load_error    // one-cycle pulse: a load frame had the wrong length
);
  localparam int NO     = C_OUT / PE;           // output groups = output beats per frame
  localparam int NI     = C_IN / SIMD;          // input groups
  localparam int FOLDS  = NO * NI;
  localparam int DEPTH  = IN_BEATS * FOLDS;     // weight words
  localparam int GW     = SIMD * 8;             // activation slice width (one input group)
  localparam int WW     = PE * SIMD * 8;        // weight word width
  localparam int PROD_W = 16;                   // int8 x uint8 fits in 16 bits signed
  localparam int NP2    = 1 << $clog2(SIMD);    // adder tree leaves (power of two)
  localparam int DOT_W  = PROD_W + $clog2(SIMD);
  localparam int GRP_W  = PE * SUM_W;           // one output group of accumulators
  localparam int AW     = (DEPTH > 1) ? $clog2(DEPTH) : 1;
  localparam int OGW    = (NO > 1) ? $clog2(NO) : 1;
  localparam int IGW    = (NI > 1) ? $clog2(NI) : 1;
  localparam int BW     = (IN_BEATS > 1) ? $clog2(IN_BEATS) : 1;
  localparam int BAW    = (C_OUT > 1) ? $clog2(C_OUT) : 1;

  // ---- elaboration-time parameter checks --------------------------------------------------
  if (IN_BEATS < 1 || C_IN < 1 || C_OUT < 1 || PE < 1 || SIMD < 1) begin : g_err_pos
    $fatal(1, "fc_serial: IN_BEATS, C_IN, C_OUT, PE, SIMD must be >= 1");
  end
  if (C_OUT % PE != 0) begin : g_err_pe
    $fatal(1, "fc_serial: PE (%0d) must divide C_OUT (%0d)", PE, C_OUT);
  end
  if (C_IN % SIMD != 0) begin : g_err_simd
    $fatal(1, "fc_serial: SIMD (%0d) must divide C_IN (%0d)", SIMD, C_IN);
  end
  if (ACC_W < 32) begin : g_err_acc
    $fatal(1, "fc_serial: ACC_W (%0d) must be >= 32", ACC_W);
  end
  if (SUM_W < DOT_W || SUM_W > ACC_W) begin : g_err_sum
    $fatal(1, "fc_serial: SUM_W (%0d) must be %0d..ACC_W (%0d)", SUM_W, DOT_W, ACC_W);
  end
  if (W_LOAD != 0 && W_LOAD != 1) begin : g_err_wload
    $fatal(1, "fc_serial: W_LOAD (%0d) must be 0 or 1", W_LOAD);
  end

  // ---- bias memory (both modes) -----------------------------------------------------------
  logic [31:0] b_mem [C_OUT];

  // Simulation: files are checked before they are loaded (rtl/mem_check.svh): a missing file,
  // a word count other than the depth, a non-hex word or a word wider than the memory stops
  // the simulation with $fatal naming the file.
`ifndef SYNTHESIS
`include "mem_check.svh"
  initial begin
    mem_check("fc_serial B_FILE", B_FILE, C_OUT, 32);
    $readmemh(B_FILE, b_mem);
  end
`else
  initial begin
    if (B_FILE != "") $readmemh(B_FILE, b_mem);
  end
`endif

  // ---- control ----------------------------------------------------------------------------
  logic en;             // pipeline advance: low only while a finished group waits in psum_q
  logic full_q;         // psum_q holds a finished output group the output register could not take
  assign en = !full_q;

  // ---- issue stage: fold counters, straight from the held s_axis beat --------------------
  logic [AW-1:0]  addr_q;   // (b*NO + og)*NI + ig
  logic [BW-1:0]  b_q;
  logic [OGW-1:0] og_q;
  logic [IGW-1:0] ig_q;
  logic           b_end, og_end, ig_end, frame_start, start_ok, issue;

  assign ig_end        = (ig_q == IGW'(NI - 1));
  assign og_end        = (og_q == OGW'(NO - 1));
  assign b_end         = (b_q == BW'(IN_BEATS - 1));
  // frame_start: the next fold is a frame's first (addr_q == 0); beat_end_q: it is the beat's
  // last (og_end && ig_end). Flip-flops set from the counters' next values: as compares they
  // sat at the head of the UP5K's critical ready paths (into the FIFO's read port in front).
  logic frame_start_q, beat_end_q;
  logic [IGW-1:0] ig_d;
  logic [OGW-1:0] og_d;
  assign frame_start   = frame_start_q;
  assign issue         = en && start_ok && s_axis_tvalid;
  assign s_axis_tready = en && start_ok && beat_end_q;
  assign ig_d          = ig_end ? '0 : ig_q + IGW'(1);
  assign og_d          = !ig_end ? og_q : og_end ? '0 : og_q + OGW'(1);

  always_ff @(posedge clk) begin
    if (rst) begin
      addr_q        <= '0;
      b_q           <= '0;
      og_q          <= '0;
      ig_q          <= '0;
      frame_start_q <= 1'b1;
      beat_end_q    <= (NI == 1) && (NO == 1);
    end else if (issue) begin
      addr_q        <= (b_end && og_end && ig_end) ? '0 : addr_q + AW'(1);
      frame_start_q <= b_end && og_end && ig_end;
      beat_end_q    <= (ig_d == IGW'(NI - 1)) && (og_d == OGW'(NO - 1));   // NI, NO = 1: always
      ig_q   <= ig_d;
      og_q   <= og_d;
      if (ig_end && og_end) b_q <= b_end ? '0 : b_q + BW'(1);
    end
  end

  // ---- weight memory: ROM from W_FILE, or the loadable single-port RAM ---------------------
  logic [WW-1:0] w_q;       // weight word of the fold in S1 (synchronous read at issue)

  // Module scope so that synthesis finds it by this exact name (iCE40 SPRAM); unused when
  // W_LOAD = 0.
  /* verilator lint_off UNUSEDSIGNAL */
  logic [WW-1:0] w_load_mem [W_LOAD != 0 ? DEPTH : 1];
  /* verilator lint_on UNUSEDSIGNAL */

  logic idle;               // no frame in flight: counters at a frame start, pipeline empty

  if (W_LOAD == 0) begin : g_rom
    logic [WW-1:0] w_mem [DEPTH];
`ifndef SYNTHESIS
    initial begin
      mem_check("fc_serial W_FILE", W_FILE, DEPTH, WW);
      $readmemh(W_FILE, w_mem);
    end
`else
    initial begin
      if (W_FILE != "") $readmemh(W_FILE, w_mem);
    end
`endif

    always_ff @(posedge clk) begin
      if (issue) begin
        w_q <= w_mem[addr_q];
      end
    end

    assign start_ok            = 1'b1;
    assign s_wload_axis_tready = 1'b0;
    assign w_valid             = 1'b1;
    assign w_load_error        = 1'b0;

    logic unused_wload;
    assign unused_wload = ^{s_wload_axis_tdata, s_wload_axis_tlast, s_wload_axis_tvalid, idle};
  end else begin : g_load
    logic          w_valid_q;   // a complete load frame is in w_load_mem
    logic          pend_q;      // s_wload_axis_tvalid was high in the previous cycle
    logic          active_q;    // inside a load frame (first word taken, tlast not yet)
    logic          drop_q;      // inside an overlong load frame: drop words up to tlast
    logic          err_q;
    logic [AW-1:0] cnt_q;       // words of the current load frame written so far
    logic          ld_fire, ld_we, ld_full;
    logic [AW-1:0] w_addr;

    logic          load_ok_q;   // w_valid_q && !pend_q && !active_q, as a flip-flop
    logic          w_valid_d, active_d, drop_d, err_d;
    logic [AW-1:0] cnt_d;

    // A pending or running load stops the next frame from starting; the load is taken once
    // the frame in flight has left (idle). Both readies come from registers only, and
    // s_axis_tready is one LUT of flip-flops (load_ok_q: the three-flag test was at the head
    // of the UP5K's critical ready path into the FIFO in front).
    assign start_ok            = !frame_start || load_ok_q;
    assign s_wload_axis_tready = idle && (pend_q || active_q);
    assign ld_fire             = s_wload_axis_tvalid && s_wload_axis_tready;
    assign ld_we               = ld_fire && !drop_q;
    assign ld_full             = (cnt_q == AW'(DEPTH - 1));   // this word is word DEPTH
    assign w_addr              = ld_we ? cnt_q : addr_q;

    // Single port: one address, a load write or a compute read, never both in one cycle.
    always_ff @(posedge clk) begin
      if (ld_we) w_load_mem[w_addr] <= s_wload_axis_tdata;
      else if (issue) w_q <= w_load_mem[w_addr];
    end

    always_comb begin
      w_valid_d = w_valid_q;
      active_d  = active_q;
      drop_d    = drop_q;
      err_d     = 1'b0;
      cnt_d     = cnt_q;
      if (ld_fire) begin
        if (drop_q) begin
          if (s_wload_axis_tlast) begin
            drop_d   = 1'b0;
            active_d = 1'b0;
          end
        end else begin
          w_valid_d = 1'b0;                        // first word clears it; set below if good
          cnt_d     = ld_full ? '0 : cnt_q + AW'(1);
          if (ld_full && s_wload_axis_tlast) begin // exactly DEPTH words
            w_valid_d = 1'b1;
            active_d  = 1'b0;
          end else if (s_wload_axis_tlast) begin   // short frame
            err_d    = 1'b1;
            active_d = 1'b0;
            cnt_d    = '0;
          end else if (ld_full) begin              // overlong frame: drop up to tlast
            err_d    = 1'b1;
            drop_d   = 1'b1;
            active_d = 1'b1;
          end else begin
            active_d = 1'b1;
          end
        end
      end
    end

    always_ff @(posedge clk) begin
      if (rst) begin
        w_valid_q <= 1'b0;
        pend_q    <= 1'b0;
        active_q  <= 1'b0;
        drop_q    <= 1'b0;
        err_q     <= 1'b0;
        cnt_q     <= '0;
        load_ok_q <= 1'b0;
      end else begin
        w_valid_q <= w_valid_d;
        pend_q    <= s_wload_axis_tvalid;
        active_q  <= active_d;
        drop_q    <= drop_d;
        err_q     <= err_d;
        cnt_q     <= cnt_d;
        load_ok_q <= w_valid_d && !s_wload_axis_tvalid && !active_d;
      end
    end

    assign w_valid      = w_valid_q;
    assign w_load_error = err_q;
  end

  // ---- base of a group, read at the issue of its first fold -------------------------------
  // The biases (first beat) or the accumulators, one synchronous read each (see header). Both
  // are read on every issue (only a group's first fold uses them): the read enables are then
  // `issue` itself, not issue && (ig == 0) && (b != 0) (on the UP5K's critical path). S1 takes
  // the word into base_q at the next advance, before any later issue can overwrite it.
  localparam bit RD_FWD = (NO == 2) && (NI == 1);   // the only shape where a read can race
  logic             rd_race;
  logic [GRP_W-1:0] b_rd_q, acc_rd_q;
  logic [GRP_W-1:0] acc_mem [NO];
  logic             acc_we;                          // S2 writes acc_mem[s2_og_q] (below)
  logic [OGW-1:0]   s2_og_q;

  assign rd_race = RD_FWD && acc_we && (s2_og_q == og_q);

  // The bias fits SUM_W bits (planner), so keeping its low bits is exact.
  always_ff @(posedge clk) begin
    if (issue) begin
      for (int pe = 0; pe < PE; pe++) begin
        b_rd_q[pe*SUM_W +: SUM_W] <= SUM_W'(b_mem[BAW'(int'(og_q) * PE + pe)]);
      end
    end
  end

  always_ff @(posedge clk) begin
    if (issue && NO > 1) begin
      acc_rd_q <= acc_mem[og_q];
    end
  end

  // ---- S1: weight word and activation slice; base ----------------------------------------
  logic [GW-1:0]  s1_x_q;
  logic           s1_valid_q, s1_first_q, s1_last_q, s1_b0_q, s1_bend_q, s1_race_q;
  logic [OGW-1:0] s1_og_q;

  always_ff @(posedge clk) begin
    if (rst) begin
      s1_valid_q <= 1'b0;
    end else if (en) begin
      s1_valid_q <= issue;
    end
  end

  always_ff @(posedge clk) begin
    if (issue) begin
      s1_x_q     <= s_axis_tdata[ig_q*GW +: GW];
      s1_first_q <= (ig_q == '0);
      s1_last_q  <= ig_end;
      s1_b0_q    <= (b_q == '0);
      s1_bend_q  <= b_end;
      s1_og_q    <= og_q;
      s1_race_q  <= rd_race;
    end
  end

  // Multiplies (int8 x uint8 -> signed 16 bits) and one balanced adder tree per PE.
  logic [PE*DOT_W-1:0] dot;
  always_comb begin
    logic [NP2*DOT_W-1:0] lvl;
    logic signed [7:0]    wv;
    logic signed [8:0]    xv;
    logic signed [PROD_W-1:0] prod;
    for (int pe = 0; pe < PE; pe++) begin
      lvl = '0;
      for (int s = 0; s < SIMD; s++) begin
        wv   = $signed(w_q[(pe*SIMD + s)*8 +: 8]);
        xv   = $signed({1'b0, s1_x_q[s*8 +: 8]});
        prod = PROD_W'(wv * xv);
        lvl[s*DOT_W +: DOT_W] = DOT_W'(prod);
      end
      for (int step = 1; step < NP2; step = step * 2) begin
        for (int k = 0; k < NP2; k = k + 2 * step) begin
          lvl[k*DOT_W +: DOT_W] = lvl[k*DOT_W +: DOT_W] + lvl[(k+step)*DOT_W +: DOT_W];
        end
      end
      dot[pe*DOT_W +: DOT_W] = lvl[0 +: DOT_W];
    end
  end

  // base_q: the base of the fold in S2 (psum_q when the read raced the write), used by a first fold.
  logic [GRP_W-1:0] base_q, psum_q;
  always_ff @(posedge clk) begin
    if (en) begin   // with every advance: S2 reads it only for a valid first fold
      base_q <= s1_b0_q ? b_rd_q : (s1_race_q ? psum_q : acc_rd_q);
    end
  end

  // ---- S2: dot products; partial sum; write back or output --------------------------------
  logic [PE*DOT_W-1:0] s2_dot_q;
  logic                s2_valid_q, s2_base_q, s2_last_q, s2_bend_q;

  always_ff @(posedge clk) begin
    if (rst) begin
      s2_valid_q <= 1'b0;
    end else if (en) begin
      s2_valid_q <= s1_valid_q;
    end
  end

  always_ff @(posedge clk) begin
    if (en && s1_valid_q) begin
      s2_dot_q   <= dot;
      // NO = 1: only the frame's first group starts from base_q (the bias); later beats
      // continue from psum_q (forwarding, see header).
      s2_base_q  <= s1_first_q && (s1_b0_q || NO > 1);
      s2_last_q  <= s1_last_q;
      s2_bend_q  <= s1_bend_q;
      s2_og_q    <= s1_og_q;
    end
  end

  logic [GRP_W-1:0] grp_new;
  logic             acc_fire, final_fire, s2_og_end;

  assign acc_fire   = en && s2_valid_q;
  assign acc_we     = acc_fire && s2_last_q && !s2_bend_q;
  assign final_fire = acc_fire && s2_last_q && s2_bend_q;
  assign s2_og_end  = (s2_og_q == OGW'(NO - 1));

  always_comb begin
    for (int pe = 0; pe < PE; pe++) begin
      grp_new[pe*SUM_W +: SUM_W] = (s2_base_q ? base_q[pe*SUM_W +: SUM_W] : psum_q[pe*SUM_W +: SUM_W])
                                   + SUM_W'($signed(s2_dot_q[pe*DOT_W +: DOT_W]));
    end
  end

  always_ff @(posedge clk) begin
    if (acc_fire) begin
      psum_q <= grp_new;
    end
  end

  always_ff @(posedge clk) begin
    if (acc_we) begin
      acc_mem[s2_og_q] <= grp_new;
    end
  end

  // ---- output register --------------------------------------------------------------------
  logic [GRP_W-1:0] out_q;
  logic             out_valid_q, out_last_q, held_last_q, out_free, load_out;

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
    if (final_fire && !out_free) begin
      held_last_q <= s2_og_end;
    end
    if (load_out) begin
      out_q      <= full_q ? psum_q : grp_new;   // psum_q holds the waiting group while full_q
      out_last_q <= full_q ? held_last_q : s2_og_end;
    end
  end

  assign idle = frame_start && !s1_valid_q && !s2_valid_q && !full_q && !out_valid_q;

  // Each lane sign-extended from SUM_W to ACC_W bits (wires only).
  for (genvar pe = 0; pe < PE; pe++) begin : g_out
    assign m_axis_tdata[pe*ACC_W +: ACC_W] = ACC_W'($signed(out_q[pe*SUM_W +: SUM_W]));
  end
  assign m_axis_tlast  = out_last_q;
  assign m_axis_tvalid = out_valid_q;

  logic unused_tlast;
  assign unused_tlast = s_axis_tlast;
endmodule
