// result_formatter: turns one beat of N_CLASSES logits into the engine's result frame.
//
//   beat 0 .. N_CLASSES-1 : logit k, sign-extended to 32 bits
//   beat N_CLASSES        : the class (argmax, lowest index on ties), TLAST
//   TUSER[0] on every beat of the frame: the frame's malformed-input flag (s_flag_*)
//
// The class is found while the logits go out, one compare per beat, so it costs one
// comparator and no extra latency. The frame's flag and its logits beat are paired in order
// (the flag comes from frame_sanitizer through a FIFO).
//
// Parameters: N_CLASSES, ACC_W (<= 32).
// Latency: 1 cycle from the logits beat to the first result beat. Cycles per result frame:
// N_CLASSES + 2 back to back (N_CLASSES + 1 beats, then one cycle to take the next logits
// beat), when m_axis_tready is high.
module result_formatter #(
  parameter int N_CLASSES = 10,
  parameter int ACC_W     = 32
) (
  input  logic                         clk,
  input  logic                         rst,
  input  logic [N_CLASSES*ACC_W-1:0]   s_axis_tdata,
  input  logic                         s_axis_tlast,
  input  logic                         s_axis_tvalid,
  output logic                         s_axis_tready,
  input  logic                         s_flag_tdata,
  input  logic                         s_flag_tvalid,
  output logic                         s_flag_tready,
  output logic [31:0]                  m_axis_tdata,
  output logic                         m_axis_tlast,
  output logic [0:0]                   m_axis_tuser,
  output logic                         m_axis_tvalid,
  input  logic                         m_axis_tready
);
  localparam int IDX_W = $clog2(N_CLASSES + 1);

  if (ACC_W > 32 || ACC_W < 2) begin : g_bad_width
    $fatal(1, "result_formatter: ACC_W must be 2..32");
  end
  if (N_CLASSES < 2) begin : g_bad_classes
    $fatal(1, "result_formatter: N_CLASSES must be >= 2");
  end

  logic [N_CLASSES*ACC_W-1:0] logits_q;
  logic                       busy_q;     // a frame is being sent
  logic [IDX_W-1:0]           beat_q;     // beat being presented
  logic                       flag_q;
  logic signed [ACC_W-1:0]    best_q;     // largest logit sent so far
  logic [IDX_W-1:0]           best_idx_q;

  logic signed [ACC_W-1:0] logit;
  assign logit = ACC_W'(logits_q >> (ACC_W * int'(beat_q)));

  wire take  = s_axis_tvalid && s_flag_tvalid && !busy_q;
  wire fire  = m_axis_tvalid && m_axis_tready;
  wire last  = (beat_q == IDX_W'(N_CLASSES));

  assign s_axis_tready = !busy_q && s_flag_tvalid;
  assign s_flag_tready = !busy_q && s_axis_tvalid;

  assign m_axis_tvalid = busy_q;
  assign m_axis_tlast  = last;
  assign m_axis_tuser  = flag_q;
  assign m_axis_tdata  = last ? 32'(best_idx_q) : 32'(logit);  // 32'() sign-extends a signed logit

  always_ff @(posedge clk) begin
    if (rst) begin
      busy_q     <= 1'b0;
      beat_q     <= '0;
      flag_q     <= 1'b0;
      best_q     <= '0;
      best_idx_q <= '0;
      logits_q   <= '0;
    end else if (take) begin
      busy_q   <= 1'b1;
      beat_q   <= '0;
      flag_q   <= s_flag_tdata;
      logits_q <= s_axis_tdata;
    end else if (fire) begin
      if (!last) begin
        // Strictly greater: ties keep the lower index, as numpy.argmax.
        if (beat_q == '0 || logit > best_q) begin
          best_q     <= logit;
          best_idx_q <= beat_q;
        end
        beat_q <= beat_q + 1'b1;
      end else begin
        busy_q <= 1'b0;
      end
    end
  end

  // s_axis_tlast is always set (one logits beat per frame); nothing else to check.
  logic unused_tlast;
  assign unused_tlast = s_axis_tlast;
endmodule
