// result_formatter: turns a frame of N_CLASSES logits into the engine's result frame.
//
//   beat 0 .. N_CLASSES-1 : logit k, sign-extended to 32 bits
//   beat N_CLASSES        : the class (argmax, lowest index on ties), TLAST
//   TUSER[0] on every beat of the frame: the frame's malformed-input flag (s_flag_*)
//
// The class is found while the logits go out, one compare per beat, so it costs one
// comparator and no extra latency. The frame's flag and its first logits beat are taken in
// the same cycle, so flags and frames pair in order (the flag comes from frame_sanitizer
// through a FIFO).
//
// Input lanes. A frame of logits is N_CLASSES / IN_LANES beats of IN_LANES logits: logit k at
// beat k / IN_LANES, lane k % IN_LANES ([lane*ACC_W +: ACC_W]). Why: a wide beat of all
// logits costs an N_CLASSES*ACC_W register here and at the producer; small FPGAs (iCE40
// UP5K) send the accumulators one group of lanes per beat (fc_serial, IN_LANES = its PE)
// and the logits then pass through one beat at a time. Frames are counted, not delimited:
// s_axis_tlast is ignored (a frame is always N_CLASSES / IN_LANES beats; the engine's
// producer sets TLAST on the last of them).
//
//   IN_LANES = N_CLASSES (default, one beat per frame): the whole beat is registered.
//     s_axis_tready and s_flag_tready do not depend on m_axis_tready. Cycles per result
//     frame: N_CLASSES + 2 back to back (N_CLASSES + 1 beats, then one cycle to take the next
//     logits beat), when m_axis_tready is high.
//   IN_LANES < N_CLASSES (lane-serial): one input beat is held and shifted out a lane per
//     result beat; storage is that beat (IN_LANES*ACC_W), the running best and its index,
//     the counters and the flag. The next beat (or the next frame's first beat and flag) is
//     taken in the cycle the held beat's last lane (or the class beat) leaves, so
//     s_axis_tready and s_flag_tready depend combinationally on m_axis_tready (m_axis_*
//     depend on flip-flops only). Cycles per result frame: N_CLASSES + 1 back to back (one result
//     beat every cycle) when the logits arrive one beat per IN_LANES cycles or faster and
//     m_axis_tready is high; for IN_LANES = 1, N_CLASSES = 10 that is 11 cycles.
//
// Parameters: N_CLASSES (>= 2), ACC_W (2..32), IN_LANES (divides N_CLASSES).
// Latency: 1 cycle from the handshake of a frame's first logits beat to its first result beat.
module result_formatter #(
  parameter int N_CLASSES = 10,
  parameter int ACC_W     = 32,
  parameter int IN_LANES  = N_CLASSES
) (
  input  logic                         clk,
  input  logic                         rst,
  input  logic [IN_LANES*ACC_W-1:0]    s_axis_tdata,
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
  if (IN_LANES < 1 || N_CLASSES % IN_LANES != 0) begin : g_bad_lanes
    $fatal(1, "result_formatter: IN_LANES must divide N_CLASSES");
  end

  wire fire = m_axis_tvalid && m_axis_tready;

  if (IN_LANES == N_CLASSES) begin : g_beat
    // One beat per frame: the beat is registered and read out by the beat counter.
    logic [N_CLASSES*ACC_W-1:0] logits_q;
    logic                       busy_q;     // a frame is being sent
    logic [IDX_W-1:0]           beat_q;     // beat being presented
    logic                       flag_q;
    logic signed [ACC_W-1:0]    best_q;     // largest logit sent so far
    logic [IDX_W-1:0]           best_idx_q;

    // The logit presented, logit beat_q, in a register of its own: selecting it from logits_q
    // by beat_q in front of the compare made the mux and the comparator one path (tiny's
    // critical one on the ECP5-25k once the layers were pipelined). The next one is selected
    // while this one is out.
    logic signed [ACC_W-1:0] logit;
    wire  signed [ACC_W-1:0] logit_next = ACC_W'(logits_q >> (ACC_W * (int'(beat_q) + 1)));

    wire take  = s_axis_tvalid && s_flag_tvalid && !busy_q;
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
        logit      <= '0;
      end else if (take) begin
        busy_q   <= 1'b1;
        beat_q   <= '0;
        flag_q   <= s_flag_tdata;
        logits_q <= s_axis_tdata;
        logit    <= s_axis_tdata[ACC_W-1:0];
      end else if (fire) begin
        if (!last) begin
          // Strictly greater: ties keep the lower index, as numpy.argmax.
          if (beat_q == '0 || logit > best_q) begin
            best_q     <= logit;
            best_idx_q <= beat_q;
          end
          beat_q <= beat_q + 1'b1;
          logit  <= logit_next;
        end else begin
          busy_q <= 1'b0;
        end
      end
    end
  end else begin : g_serial
    // Lane-serial: hold_q is the held input beat, its lane 0 is the logit presented; it
    // shifts down one lane per result beat.
    localparam int LANE_W = (IN_LANES > 1) ? $clog2(IN_LANES) : 1;

    logic [IN_LANES*ACC_W-1:0] hold_q;
    logic                      hold_v_q;   // presenting logit k_q (lane 0 of hold_q)
    logic                      cls_q;      // presenting the class beat
    logic [IDX_W-1:0]          k_q;        // logit presented or awaited; 0 between frames
                                           // and during the class beat
    logic [LANE_W-1:0]         lane_q;     // lane of the held beat being presented
    logic                      flag_q;
    logic signed [ACC_W-1:0]   best_q;     // largest logit sent so far
    logic [IDX_W-1:0]          best_idx_q;

    logic signed [ACC_W-1:0] logit;
    assign logit = hold_q[ACC_W-1:0];

    // logit > best_q, written as the borrow of best_q - logit with both sign bits flipped
    // (offset binary, so an unsigned subtract): one carry chain. As a signed `>` Yosys built a
    // chain of short carry pieces joined by LUTs, the UP5K's critical path.
    logic [ACC_W:0] best_minus_logit;
    assign best_minus_logit = {1'b0, ~best_q[ACC_W-1], best_q[ACC_W-2:0]}
                            - {1'b0, ~logit[ACC_W-1], logit[ACC_W-2:0]};
    wire logit_wins = best_minus_logit[ACC_W];

    logic last_lane;
    if (IN_LANES > 1) begin : g_lane
      assign last_lane = (lane_q == LANE_W'(IN_LANES - 1));
    end else begin : g_one_lane
      assign last_lane = 1'b1;
    end
    wire last_logit = (k_q == IDX_W'(N_CLASSES - 1));

    // A beat can be taken when nothing is held (between frames, or a frame's next beat was
    // late) or in the cycle the held beat's last lane leaves (not the frame's last: the class
    // beat comes next) or the class beat leaves (then it is the next frame's first beat).
    wire slot  = (!hold_v_q && !cls_q) || (hold_v_q && last_lane && !last_logit && m_axis_tready)
              || (cls_q && m_axis_tready);
    wire first = !hold_v_q && k_q == '0;  // the beat to take opens a frame: take its flag
    wire take  = s_axis_tvalid && s_axis_tready;

    assign s_axis_tready = slot && (!first || s_flag_tvalid);
    assign s_flag_tready = slot && first && s_axis_tvalid;

    assign m_axis_tvalid = hold_v_q || cls_q;
    assign m_axis_tlast  = cls_q;
    assign m_axis_tuser  = flag_q;
    assign m_axis_tdata  = cls_q ? 32'(best_idx_q) : 32'(logit);  // 32'() sign-extends

    always_ff @(posedge clk) begin
      if (rst) begin
        hold_v_q <= 1'b0;
        cls_q    <= 1'b0;
        k_q      <= '0;
        lane_q   <= '0;
        flag_q   <= 1'b0;
      end else begin
        if (fire && hold_v_q) begin
          k_q    <= last_logit ? '0 : k_q + 1'b1;
          lane_q <= last_lane ? '0 : lane_q + 1'b1;
          if (last_logit) begin
            cls_q <= 1'b1;
          end
          if (last_lane) begin
            hold_v_q <= 1'b0;
          end
        end
        if (fire && cls_q) begin
          cls_q <= 1'b0;
        end
        if (take) begin
          hold_v_q <= 1'b1;
          if (first) begin
            flag_q <= s_flag_tdata;
          end
        end
      end
    end

    // Data: no reset (best_q is loaded by logit 0 of every frame before it is compared).
    always_ff @(posedge clk) begin
      if (take) begin
        hold_q <= s_axis_tdata;
      end else if (fire && hold_v_q && !last_lane) begin
        hold_q <= hold_q >> ACC_W;
      end
      if (fire && hold_v_q) begin
        // Strictly greater: ties keep the lower index, as numpy.argmax.
        if (k_q == '0 || logit_wins) begin
          best_q     <= logit;
          best_idx_q <= k_q;
        end
      end
    end
  end

  // Frames are counted (see the header); s_axis_tlast is not needed.
  logic unused_tlast;
  assign unused_tlast = s_axis_tlast;
endmodule
