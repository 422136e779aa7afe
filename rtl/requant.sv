// requant: per-channel requantization of C signed accumulators to C 8-bit lanes.
//
//   y[k] = clamp((acc[k] * m[k] + 2**(r[k]-1)) >>> r[k], LO, HI)    (k: channel)
//
// `>>>` is an arithmetic (floor) shift, so rounding is half up (towards +inf) for both signs
// (docs/architecture.md, model/quant.py). The product is exact: ACC_W + M_W + 1 bits, no
// overflow for any accumulator and multiplier. m and r are per-channel constants read from
// M_FILE and R_FILE ($readmemh, C*BEATS words each, channel order; in simulation the files are
// checked as in rom.sv: missing file, word count != C*BEATS or a word wider than M_W / 8 bits
// stop with $fatal naming the file; an r outside 1..62 stops too).
//
// A frame carries C*BEATS channels as BEATS beats of C lanes: lane c of beat j is channel
// k = j*C + c. BEATS > 1 serves a producer that emits its channels a group at a time (C = 1:
// one lane of hardware for any channel count); its m and r become a lookup by the beat
// counter instead of per-lane constants. The counter counts accepted input beats and returns
// to 0 after beat BEATS-1 or after any beat with tlast, so a frame cut short resynchronises
// at its tlast (a frame longer than BEATS beats wraps to channel 0).
//
// PIX > 1 (pixels per beat, FINN's MMV): a beat holds PIX pixels of C channels, C*PIX lanes;
// lane l = p*C + c (pixel p) uses channel c's m and r, so the tables stay C deep (BEATS = 1
// only: BEATS > 1 with PIX > 1 stops elaboration with $fatal).
//
// Input lane l: s_axis_tdata[l*ACC_W +: ACC_W] (signed), l = 0..C*PIX-1. Output lane l:
// m_axis_tdata[l*8 +: 8] (uint8 when LO >= 0, int8 when LO < 0). tlast passes through.
// Latency: 4 cycles, one register per step so that no cycle holds more than one of them
// (the UP5K's critical path was all four in two cycles):
//   1. product acc*m (or the accumulator in POW2 mode) and the shift r looked up by channel
//   2. rounding sum prod + 2**(r-1)
//   3. arithmetic shift by r
//   4. clamp to LO..HI (output register)
// Cycles per output: 1 (one beat per cycle in steady state). The four stages advance together
// (one enable: the output register is free or being emptied), so s_axis_tready is one LUT from
// m_axis_tready (a stage-by-stage stall chain was four, on the UP5K's critical ready path); a
// bubble inside the pipeline is not squeezed out while the output stalls. m_axis_tvalid/tdata/
// tlast come from flip-flops.
//
// Parameters:
//   C       channels per pixel (the lanes of a beat when PIX = 1), >= 1
//   BEATS   beats per frame, >= 1 (1: one beat holds all channels, the tables are constants)
//   PIX     pixels per beat, >= 1 (default 1): C*PIX lanes, the C channels' tables shared
//   ACC_W   accumulator width, 2..64
//   M_W     multiplier width (unsigned), 1..32
//   LO, HI  clamp bounds: 0..255 (uint8 out, LO = 0 is the fused ReLU) or -128..127 (int8 out)
//   POW2    1: shift only (m = 1, M_FILE is not read)
//   M_FILE  multipliers, C*BEATS words (architecture.md: 32-bit words, value < 2**M_W)
//   R_FILE  shifts, C*BEATS words of 8 bits, each 1..62
module requant #(
  parameter int C      = 4,
  parameter int BEATS  = 1,
  parameter int PIX    = 1,
  parameter int ACC_W  = 32,
  parameter int M_W    = 32,
  parameter int LO     = 0,
  parameter int HI     = 255,
  parameter int POW2   = 0,
  parameter     M_FILE = "",
  parameter     R_FILE = ""
) (
  input  logic                   clk,
  input  logic                   rst,
  input  logic [C*PIX*ACC_W-1:0] s_axis_tdata,
  input  logic                   s_axis_tlast,
  input  logic                   s_axis_tvalid,
  output logic                   s_axis_tready,
  output logic [C*PIX*8-1:0]     m_axis_tdata,
  output logic                   m_axis_tlast,
  output logic                   m_axis_tvalid,
  input  logic                   m_axis_tready
);
  if (C < 1) begin : g_bad_c
    $fatal(1, "requant: C must be >= 1");
  end
  if (BEATS < 1) begin : g_bad_beats
    $fatal(1, "requant: BEATS must be >= 1");
  end
  if (PIX < 1) begin : g_bad_pix
    $fatal(1, "requant: PIX must be >= 1");
  end
  if (BEATS > 1 && PIX > 1) begin : g_bad_beats_pix
    $fatal(1, "requant: BEATS (%0d) > 1 with PIX (%0d) > 1 is not supported", BEATS, PIX);
  end
  if (ACC_W < 2 || ACC_W > 64) begin : g_bad_acc_w
    $fatal(1, "requant: ACC_W must be 2..64");
  end
  if (M_W < 1 || M_W > 32) begin : g_bad_m_w
    $fatal(1, "requant: M_W must be 1..32");
  end
  if (!(LO < HI && ((LO >= 0 && HI <= 255) || (LO >= -128 && HI <= 127)))) begin : g_bad_clamp
    $fatal(1, "requant: need LO < HI within 0..255 or within -128..127");
  end
  if (POW2 != 0 && POW2 != 1) begin : g_bad_pow2
    $fatal(1, "requant: POW2 must be 0 or 1");
  end

  // Product width: exact signed ACC_W x unsigned M_W (or the accumulator alone in POW2 mode).
  localparam int PW = (POW2 != 0) ? ACC_W : ACC_W + M_W + 1;
  // Rounding sum: for r <= PW, prod + 2**(r-1) fits PW + 1 bits. For r > PW every product
  // rounds to 0 (|prod| < 2**(PW-1) <= 2**(r-2)), so no wider adder is needed.
  localparam int SW = PW + 1;
  // Clamp: the shifted value is first reduced to 9 bits signed (-256..255 covers every LO/HI)
  // by a sign-extension test, so the comparators are 9 bits wide, not SW.
  localparam int XW = (SW > 9) ? SW : 9;
  localparam logic signed [8:0] LO_9 = 9'(LO);
  localparam logic signed [8:0] HI_9 = 9'(HI);

  localparam int N  = C * BEATS;                         // channels per frame: table depth
  localparam int NW = (N > 1) ? $clog2(N) : 1;            // table index width
  localparam int BW = (BEATS > 1) ? $clog2(BEATS) : 1;    // beat counter width
  localparam int L  = C * PIX;                           // lanes per beat

  logic [7:0] r_tab [N];

`ifndef SYNTHESIS
`include "mem_check.svh"
  initial begin
    mem_check("requant", R_FILE, N, 8);
    $readmemh(R_FILE, r_tab);
    for (int k = 0; k < N; k++) begin
      if (r_tab[k] < 8'd1 || r_tab[k] > 8'd62) begin
        $fatal(1, "requant: %s word %0d: shift %0d outside 1..62", R_FILE, k, r_tab[k]);
      end
    end
  end
`else
  if (R_FILE != "") begin : g_init_r  // no file: only the default, never a real build
    initial $readmemh(R_FILE, r_tab);
  end
`endif

  // ---- pipeline control: four stages, all advance when the output register has room ----
  logic [4:1] v_q, last_q;  // stage k holds a beat when v_q[k]
  wire        adv = !v_q[4] || m_axis_tready;

  assign s_axis_tready = adv;
  assign m_axis_tvalid = v_q[4];
  assign m_axis_tlast  = last_q[4];

  always_ff @(posedge clk) begin
    if (rst) begin
      v_q <= '0;
    end else begin
      if (adv) v_q <= {v_q[3:1], s_axis_tvalid};
    end
  end

  always_ff @(posedge clk) begin
    if (adv) last_q <= {last_q[3:1], s_axis_tlast};
  end

  // ---- beat counter: beat0_d is the input beat's index ----------------------------------
  // Stage 1 looks up m and r by the input beat. With BEATS = 1 it is the constant 0, so every
  // lookup below has a constant index and folds to a constant.
  logic [BW-1:0] beat0_d;

  if (BEATS > 1) begin : g_beat
    logic [BW-1:0] beat_q;
    always_ff @(posedge clk) begin
      if (rst) begin
        beat_q <= '0;
      end else if (s_axis_tvalid && adv) begin
        beat_q <= (s_axis_tlast || beat_q == BW'(BEATS - 1)) ? '0 : beat_q + 1'b1;
      end
    end
    assign beat0_d = beat_q;
  end else begin : g_one_beat
    assign beat0_d = '0;
  end

  // ---- stage 1: product (and shift lookup); 2: rounding sum; 3: shift; 4: clamp ---------
  logic [L*PW-1:0] prod_d;  // lane l at [l*PW +: PW], signed

  if (POW2 != 0) begin : g_pow2
    assign prod_d = s_axis_tdata;
  end else begin : g_mul
    logic [M_W-1:0] m_tab [N];
`ifndef SYNTHESIS
    initial begin
      mem_check("requant", M_FILE, N, M_W);
      $readmemh(M_FILE, m_tab);
    end
`else
    if (M_FILE != "") begin : g_init_m
      initial $readmemh(M_FILE, m_tab);
    end
`endif
    for (genvar c = 0; c < L; c++) begin : g_lane
      // channel of lane c in the input beat (pixel c / C)
      wire [NW-1:0]  k = NW'(int'(beat0_d) * C + c % C);
      wire [M_W-1:0] m = m_tab[k];
      assign prod_d[c*PW +: PW] = $signed(s_axis_tdata[c*ACC_W +: ACC_W]) * $signed({1'b0, m});
    end
  end

  for (genvar c = 0; c < L; c++) begin : g_lane
    wire  [NW-1:0]        k = NW'(int'(beat0_d) * C + c % C);  // channel of lane c (pixel c / C)
    wire  [7:0]           r_d = r_tab[k];
    // A shift beyond PW rounds every product to 0 (see SW): stage 1 records it as a flag.
    wire                  zero_d = int'(r_d) > PW;
    logic signed [PW-1:0] prod_q;
    logic [5:0]           r1_q, r2_q;  // r <= 62 (checked), or zero is set
    logic                 zero1_q;
    logic signed [SW-1:0] sum_q, sh_q;
    logic signed [XW-1:0] ext;
    logic signed [8:0]    v9;
    logic [XW-9:0]        top;      // ext[XW-1:8]: all equal iff ext fits 9 bits signed
    logic [7:0]           y_d, y_q;

    always_ff @(posedge clk) begin
      if (adv) begin
        prod_q  <= prod_d[c*PW +: PW];                                        // stage 1
        r1_q    <= r_d[5:0];
        zero1_q <= zero_d;
        sum_q   <= zero1_q ? '0 : SW'(prod_q) + (SW'(1) << (r1_q - 6'd1));    // stage 2
        r2_q    <= r1_q;
        sh_q    <= sum_q >>> r2_q;  // stage 3; 0 stays 0 whatever the shift
        y_q     <= y_d;             // stage 4
      end
    end

    always_comb begin
      ext = XW'(sh_q);
      top = ext[XW-1:8];
      v9  = ext[8:0];
      if (!(&top || !(|top))) y_d = ext[XW-1] ? LO_9[7:0] : HI_9[7:0];  // beyond -256..255
      else if (v9 < LO_9)     y_d = LO_9[7:0];
      else if (v9 > HI_9)     y_d = HI_9[7:0];
      else                    y_d = v9[7:0];
    end

    logic [1:0] unused_r;  // bits 7:6 of r: 0 for every valid r (1..62)
    assign unused_r = r_d[7:6];
    assign m_axis_tdata[c*8 +: 8] = y_q;
  end
endmodule
