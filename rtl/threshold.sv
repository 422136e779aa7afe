// threshold: per-channel multi-threshold activation (FINN's MultiThreshold): C signed
// accumulators in, C unsigned A_OUT-bit activations out. It replaces requant in front of a
// low-bit layer (docs/rtl-library.md, "Low-bit arithmetic contract").
//
//   y[k] = #{ j in 0..N_T-1 : acc[k] >= T[k][j] },   N_T = 2**A_OUT - 1   (k: channel)
//
// T[k][0..N_T-1] are signed ACC_W-bit thresholds, sorted ascending (equal neighbours allowed),
// so y is the step of the staircase acc falls on: 0 .. 2**A_OUT - 1, unsigned A_OUT bits.
// A_OUT = 1 is the bipolar sign: one threshold, bit 1 (+1) when acc >= T[k][0], bit 0 (-1)
// otherwise. Any ReLU, batch norm or scale folds into the thresholds (the Python side computes
// them); ties go up (acc == T counts).
//
// T_FILE: $readmemh, C*BEATS words in channel order, one word per channel, threshold j at bits
// [j*ACC_W +: ACC_W] (two's complement), word width N_T*ACC_W bits. In simulation a missing
// file, a word count other than C*BEATS, a non-hex word or a word wider than N_T*ACC_W bits
// stops with $fatal naming the file (rtl/mem_check.svh, Verilator needs -Irtl), and so does a
// channel whose thresholds are not sorted ascending ("threshold: <file> channel k: thresholds
// not sorted ascending ..."). Synthesis (SYNTHESIS defined) just loads the file.
//
// A frame carries C*BEATS channels as BEATS beats of C lanes: lane c of beat j is channel
// k = j*C + c, as in requant (BEATS > 1 serves a lane-serial producer such as conv_unit's
// SERIAL = 1 or fc_serial; C = 1 is one lane of hardware for any channel count). The beat
// counter counts accepted input beats and returns to 0 after beat BEATS-1 or after any beat
// with tlast, so a frame cut short resynchronises at its tlast (a longer frame wraps to
// channel 0). With BEATS = 1 every threshold is a per-lane constant (comparators against
// constants).
//
// Input lane c: s_axis_tdata[c*ACC_W +: ACC_W] (signed). Output lane c:
// m_axis_tdata[c*A_OUT +: A_OUT] (unsigned; the lane packing conv_unit / fc_unit take with
// A_BITS = A_OUT). tlast passes through.
// Latency: 1 cycle (output register). Cycles per output: 1 (one beat per cycle).
// s_axis_tready = !m_axis_tvalid || m_axis_tready: combinational from m_axis_tready;
// m_axis_tvalid/tdata/tlast come from flip-flops.
//
// Parameters:
//   C       channels (lanes) per beat, >= 1
//   BEATS   beats per frame, >= 1
//   ACC_W   accumulator and threshold width, 2..64
//   IN_W    bits of each input lane that carry the value, 2..ACC_W (default ACC_W): a producer
//           with narrow accumulators (fc_unit SUM_W) sends IN_W-bit values sign-extended to
//           ACC_W. The unit then compares IN_W + 1 bits: thresholds above the IN_W range
//           become 2**(IN_W-1) (never reached), those below -2**(IN_W-1) (always reached),
//           which gives the same counts for every IN_W-bit input and saves the comparator
//           bits (carry chains on the iCE40) that only copies of the sign bit would feed.
//   A_OUT   output bits: 1 (bipolar), 2 or 4 (unsigned); N_T = 2**A_OUT - 1 thresholds
//   T_FILE  thresholds, C*BEATS words of N_T*ACC_W bits
module threshold #(
  parameter int C      = 4,
  parameter int BEATS  = 1,
  parameter int ACC_W  = 32,
  parameter int A_OUT  = 1,
  parameter int IN_W   = ACC_W,
  parameter     T_FILE = ""
) (
  input  logic               clk,
  input  logic               rst,
  input  logic [C*ACC_W-1:0] s_axis_tdata,
  input  logic               s_axis_tlast,
  input  logic               s_axis_tvalid,
  output logic               s_axis_tready,
  output logic [C*A_OUT-1:0] m_axis_tdata,
  output logic               m_axis_tlast,
  output logic               m_axis_tvalid,
  input  logic               m_axis_tready
);
  if (C < 1) begin : g_bad_c
    $fatal(1, "threshold: C must be >= 1");
  end
  if (BEATS < 1) begin : g_bad_beats
    $fatal(1, "threshold: BEATS must be >= 1");
  end
  if (ACC_W < 2 || ACC_W > 64) begin : g_bad_acc_w
    $fatal(1, "threshold: ACC_W must be 2..64");
  end
  if (IN_W < 2 || IN_W > ACC_W) begin : g_bad_in_w
    $fatal(1, "threshold: IN_W (%0d) must be 2..ACC_W (%0d)", IN_W, ACC_W);
  end
  if (!(A_OUT == 1 || A_OUT == 2 || A_OUT == 4)) begin : g_bad_a_out
    $fatal(1, "threshold: A_OUT (%0d) must be 1, 2 or 4", A_OUT);
  end

  localparam int NT = (1 << A_OUT) - 1;                   // thresholds per channel
  localparam int TW = NT * ACC_W;                         // threshold word width
  localparam int N  = C * BEATS;                          // channels per frame: table depth
  localparam int NW = (N > 1) ? $clog2(N) : 1;            // table index width
  localparam int BW = (BEATS > 1) ? $clog2(BEATS) : 1;    // beat counter width
  localparam int CW = (IN_W < ACC_W) ? IN_W + 1 : ACC_W;  // comparison width

  // A threshold in CW bits: clamped to [-2**(IN_W-1), 2**(IN_W-1)] when IN_W < ACC_W, which
  // changes no comparison with an IN_W-bit value (see IN_W above).
  function automatic logic signed [CW-1:0] clamp_t(input logic signed [ACC_W-1:0] t);
    logic signed [ACC_W-1:0] hi, lo;
    hi = (IN_W < ACC_W) ? ACC_W'(1) <<< (IN_W - 1) : '0;
    lo = -hi;
    if (IN_W < ACC_W && t > hi) clamp_t = CW'(hi);
    else if (IN_W < ACC_W && t < lo) clamp_t = CW'(lo);
    else clamp_t = CW'(t);
  endfunction

  // a >= t (signed, CW bits) as a ripple from the LSB in plain logic, not a subtractor: with a
  // constant t (BEATS = 1) each bit is an AND or an OR with the bit below, which an FPGA maps
  // three bits to a LUT4, where a comparator costs one carry cell per bit (on the iCE40 those
  // cannot share a logic cell with other logic). Used for narrow inputs (IN_W < ACC_W).
  function automatic logic ge_ripple(input logic [CW-1:0] a, input logic [CW-1:0] t);
    /*verilator no_inline_task*/  // (as count_reached)
    logic g, ai, ti;
    g = 1'b1;                             // the empty low part: equal, so a >= t
    for (int i = 0; i < CW; i++) begin
      ai = (i == CW - 1) ? !a[i] : a[i];  // sign bits flipped: signed order as unsigned
      ti = (i == CW - 1) ? !t[i] : t[i];
      g  = (ai && !ti) || (!(ai ^ ti) && g);
    end
    ge_ripple = g;
  endfunction

  // The A_OUT-bit activation: how many of the channel's N_T thresholds the value reaches.
  function automatic logic [A_OUT-1:0] count_reached(input logic [CW-1:0] a, input logic [TW-1:0] ts);
    /*verilator no_inline_task*/  // called per lane: one C++ function, not a copy per lane
    count_reached = '0;
    for (int j = 0; j < NT; j++) begin
      if (IN_W < ACC_W) begin
        count_reached = count_reached + A_OUT'(ge_ripple(a, clamp_t(ts[j*ACC_W +: ACC_W])));
      end else begin
        count_reached = count_reached + A_OUT'($signed(a) >= clamp_t(ts[j*ACC_W +: ACC_W]));
      end
    end
  endfunction

  logic [TW-1:0] t_tab [N];

`ifndef SYNTHESIS
`include "mem_check.svh"
  initial begin
    mem_check("threshold T_FILE", T_FILE, N, TW);
    $readmemh(T_FILE, t_tab);
    for (int k = 0; k < N; k++) begin
      for (int j = 1; j < NT; j++) begin
        if ($signed(t_tab[k][j*ACC_W +: ACC_W]) < $signed(t_tab[k][(j-1)*ACC_W +: ACC_W])) begin
          $fatal(1, "threshold: %s channel %0d: thresholds not sorted ascending %s",
                 T_FILE, k, $sformatf("(T[%0d] = %0d < T[%0d] = %0d)",
                 j, $signed(t_tab[k][j*ACC_W +: ACC_W]), j - 1, $signed(t_tab[k][(j-1)*ACC_W +: ACC_W])));
        end
      end
    end
  end
`else
  if (T_FILE != "") begin : g_init_t  // no file: only the default, never a real build
    initial $readmemh(T_FILE, t_tab);
  end
`endif

  // ---- handshake: one output register ----------------------------------------------------
  logic valid_q, last_q;
  wire  adv = !valid_q || m_axis_tready;

  assign s_axis_tready = adv;
  assign m_axis_tvalid = valid_q;
  assign m_axis_tlast  = last_q;

  always_ff @(posedge clk) begin
    if (rst) begin
      valid_q <= 1'b0;
    end else if (adv) begin
      valid_q <= s_axis_tvalid;
    end
  end

  always_ff @(posedge clk) begin
    if (adv) last_q <= s_axis_tlast;
  end

  // ---- beat counter: the input beat's index (constant 0 when BEATS = 1) ------------------
  logic [BW-1:0] beat_d;

  if (BEATS > 1) begin : g_beat
    logic [BW-1:0] beat_q;
    always_ff @(posedge clk) begin
      if (rst) begin
        beat_q <= '0;
      end else if (s_axis_tvalid && adv) begin
        beat_q <= (s_axis_tlast || beat_q == BW'(BEATS - 1)) ? '0 : beat_q + 1'b1;
      end
    end
    assign beat_d = beat_q;
  end else begin : g_one_beat
    assign beat_d = '0;
  end

  // ---- compare against every threshold of the lane's channel and count ------------------
  for (genvar c = 0; c < C; c++) begin : g_lane
    wire  [NW-1:0]           k = NW'(int'(beat_d) * C + c);  // channel of lane c
    wire  [TW-1:0]           t = t_tab[k];
    wire  signed [IN_W-1:0]  acc = s_axis_tdata[c*ACC_W +: IN_W];
    wire  signed [CW-1:0]    acc_x = CW'(acc);  // sign-extended by one bit when narrow
    logic [A_OUT-1:0]        y_q;
    if (IN_W < ACC_W) begin : g_sign_copies
      // The lane's upper bits are copies of its sign bit (the producer's sign extension).
      logic unused_hi;
      assign unused_hi = ^s_axis_tdata[c*ACC_W + IN_W +: ACC_W - IN_W];
    end

    // The count is computed in the register's enable branch, not in an always_comb: the same
    // logic for synthesis, but a simulator evaluates it once per accepted beat instead of every
    // cycle (C lanes x N_T comparisons, bit by bit when narrow: 12x on lfc_w1a1's 1,024 lanes).
    always_ff @(posedge clk) begin
      if (s_axis_tvalid && adv) y_q <= count_reached(acc_x, t);  // data matters only with valid_q
    end
    assign m_axis_tdata[c*A_OUT +: A_OUT] = y_q;
  end
endmodule
