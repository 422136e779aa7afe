// Formal properties of rtl/result_formatter.sv (proved by k-induction, formal/proofs.py), for
// one beat per frame (IN_LANES = N_CLASSES) and lane-serial input (IN_LANES < N_CLASSES).
// "// probe: <signal>" wires are connected to the flattened design's internal signals by
// formal/proofs.py (only those of the configuration's generate branch); they serve the
// induction invariants at the end only.
//
// Port-level model: input logits are numbered (frame mod 4, index k); output beats (frame,
// beat). One logit K of one frame F, chosen by the solver, is followed: output beat K of frame
// F is that logit sign-extended, and every beat of frame F carries frame F's flag in TUSER.
// The class beat is checked against the argmax of the logits the frame sent (which the
// followed logit ties to the input), lowest index on ties.
`default_nettype none

module result_formatter_props #(
  parameter int N_CLASSES = 4,
  parameter int ACC_W     = 3,
  parameter int IN_LANES  = 4
) (
  input wire logic clk
);
  localparam int N     = N_CLASSES;
  localparam int NB    = N / IN_LANES;          // input beats per frame
  localparam int IDX_W = $clog2(N + 1);
  localparam int BW    = (NB > 1) ? $clog2(NB) : 1;
  localparam int LANE_W = (IN_LANES > 1) ? $clog2(IN_LANES) : 1;

  (* anyseq *) logic                      rst, s_tvalid, s_tlast, flag_tdata, flag_tvalid, m_tready;
  (* anyseq *) logic [IN_LANES*ACC_W-1:0] s_tdata;
  logic        s_tready, flag_tready, m_tvalid, m_tlast;
  logic [31:0] m_tdata;
  logic [0:0]  m_tuser;

  result_formatter #(.N_CLASSES(N_CLASSES), .ACC_W(ACC_W), .IN_LANES(IN_LANES)) dut (
    .clk, .rst,
    .s_axis_tdata(s_tdata), .s_axis_tlast(s_tlast), .s_axis_tvalid(s_tvalid), .s_axis_tready(s_tready),
    .s_flag_tdata(flag_tdata), .s_flag_tvalid(flag_tvalid), .s_flag_tready(flag_tready),
    .m_axis_tdata(m_tdata), .m_axis_tlast(m_tlast), .m_axis_tuser(m_tuser), .m_axis_tvalid(m_tvalid),
    .m_axis_tready(m_tready)
  );

  logic past_valid = 1'b0;
  always_ff @(posedge clk) past_valid <= 1'b1;
  always_comb if (!past_valid) assume (rst);  // start in reset

  f_axis_stable #(.W(IN_LANES*ACC_W+1), .SOURCE(1)) u_src (.clk, .rst, .valid(s_tvalid), .ready(s_tready), .payload({s_tlast, s_tdata}));
  f_axis_stable #(.W(1), .SOURCE(1)) u_flag (.clk, .rst, .valid(flag_tvalid), .ready(flag_tready), .payload(flag_tdata));
  f_axis_stable #(.W(34)) u_out (.clk, .rst, .valid(m_tvalid), .ready(m_tready), .payload({m_tlast, m_tuser, m_tdata}));

  wire in_fire   = !rst && s_tvalid && s_tready;
  wire flag_fire = !rst && flag_tvalid && flag_tready;
  wire out_fire  = !rst && m_tvalid && m_tready;

  logic [1:0]       f_ifr, f_ofr;  // frames fully taken / sent
  logic [BW-1:0]    f_ib;          // input beat of the frame being taken
  logic [IDX_W-1:0] f_ob;          // output beat being sent
  (* anyconst *) logic [1:0]       F;
  (* anyconst *) logic [IDX_W-1:0] K;
  always_comb assume (K < IDX_W'(N));
  logic                    f_kgot, f_fgot, f_flag;  // logit (F, K) taken; frame F's flag taken, its value
  logic signed [ACC_W-1:0] f_logit;
  logic signed [ACC_W-1:0] f_best;                  // running argmax over the logits sent
  logic [IDX_W-1:0]        f_bidx;

  logic signed [ACC_W-1:0] in_logit, out_logit;
  assign in_logit  = s_tdata[(32'(K) % IN_LANES)*ACC_W +: ACC_W];
  assign out_logit = m_tdata[ACC_W-1:0];
  wire last_in_beat = (32'(f_ib) == NB - 1);

  always_ff @(posedge clk) begin
    if (rst) begin
      f_ifr <= '0;  f_ofr <= '0;  f_ib <= '0;  f_ob <= '0;
      f_kgot <= 1'b0;  f_fgot <= 1'b0;
    end else begin
      if (flag_fire && f_ifr == F) begin
        f_fgot <= 1'b1;
        f_flag <= flag_tdata;
      end
      if (in_fire) begin
        if (f_ifr == F && 32'(f_ib) == 32'(K) / IN_LANES) begin
          f_kgot  <= 1'b1;
          f_logit <= in_logit;
        end
        f_ib <= last_in_beat ? '0 : f_ib + 1'b1;
        if (last_in_beat) begin
          f_ifr <= f_ifr + 1'b1;
          if (f_ifr + 2'd1 == F) begin  // frame F (again) begins: forget the old one
            f_kgot <= 1'b0;  f_fgot <= 1'b0;
          end
        end
      end
      if (out_fire) begin
        f_ob <= (f_ob == IDX_W'(N)) ? '0 : f_ob + 1'b1;
        if (f_ob == IDX_W'(N)) f_ofr <= f_ofr + 1'b1;
        if (f_ob < IDX_W'(N) && (f_ob == '0 || out_logit > f_best)) begin
          f_best <= out_logit;
          f_bidx <= f_ob;
        end
      end
    end
  end

  // Reset: nothing on offer, the next beat opens a frame.
  always_ff @(posedge clk) if (past_valid && $past(rst)) assert (!m_tvalid && f_ob == '0);

  always_comb begin
    if (past_valid && !rst) begin
      // A frame's flag is taken exactly with its first logits beat.
      assert (flag_fire == (in_fire && f_ib == '0));
      assert (f_ifr - f_ofr <= 2'd1);
      assert (f_ob <= IDX_W'(N) && 32'(f_ib) < NB);
      if (m_tvalid) begin
        assert (m_tlast == (f_ob == IDX_W'(N)));  // N_CLASSES + 1 beats, TLAST on the class
        if (f_ob < IDX_W'(N)) assert (m_tdata == 32'(out_logit));  // sign-extended
        else assert (m_tdata == 32'(f_bidx));
        if (f_ofr == F) begin
          assert (f_fgot && m_tuser == f_flag);
          if (f_ob == K) assert (f_kgot && out_logit == f_logit);
        end
      end
    end
  end

  // Induction invariants, per implementation.
  logic                      p_busy;        // probe: dut.g_beat.busy_q
  logic [IDX_W-1:0]          p_beat;        // probe: dut.g_beat.beat_q
  logic [N*ACC_W-1:0]        p_logits;      // probe: dut.g_beat.logits_q
  logic                      p_bflag;       // probe: dut.g_beat.flag_q
  logic signed [ACC_W-1:0]   p_bbest;       // probe: dut.g_beat.best_q
  logic [IDX_W-1:0]          p_bbest_idx;   // probe: dut.g_beat.best_idx_q
  logic                      p_hold_v;      // probe: dut.g_serial.hold_v_q
  logic                      p_cls;         // probe: dut.g_serial.cls_q
  logic [IDX_W-1:0]          p_k;           // probe: dut.g_serial.k_q
  logic [LANE_W-1:0]         p_lane;        // probe: dut.g_serial.lane_q
  logic [IN_LANES*ACC_W-1:0] p_hold;        // probe: dut.g_serial.hold_q
  logic                      p_sflag;       // probe: dut.g_serial.flag_q
  logic signed [ACC_W-1:0]   p_sbest;       // probe: dut.g_serial.best_q
  logic [IDX_W-1:0]          p_sbest_idx;   // probe: dut.g_serial.best_idx_q

  if (IN_LANES == N) begin : g_beat_inv
    always_comb begin
      if (past_valid) begin
        assert (p_busy == m_tvalid && f_ib == '0);
        assert (p_busy ? p_beat == f_ob : f_ob == '0);
        assert (f_ifr - f_ofr == 2'(p_busy));
        if (p_busy && f_ofr == F) begin
          assert (f_kgot && f_fgot && p_bflag == f_flag);
          assert ($signed(p_logits[K*ACC_W +: ACC_W]) == f_logit);
        end
        if (f_ifr == F) assert (!f_kgot && !f_fgot);
        if (f_ob != '0) assert (p_bbest == f_best && p_bbest_idx == f_bidx);
      end
    end
  end else begin : g_serial_inv
    logic [1:0] hold_fr;  // frame of the held beat
    assign hold_fr = (f_ib == '0) ? f_ifr - 2'd1 : f_ifr;
    always_comb begin
      if (past_valid) begin
        assert (m_tvalid == (p_hold_v || p_cls) && !(p_hold_v && p_cls));
        assert (p_k < IDX_W'(N) && 32'(p_lane) == 32'(p_k) % IN_LANES);
        if (p_cls) assert (f_ob == IDX_W'(N) && p_k == '0 && f_ib == '0 && f_ifr == f_ofr + 2'd1);
        if (!p_cls) assert (f_ob == p_k);
        if (p_hold_v) assert (hold_fr == f_ofr && 32'(p_k) / IN_LANES == (f_ib == '0 ? NB : 32'(f_ib)) - 1);
        if (!p_hold_v && !p_cls) assert (f_ifr == f_ofr && 32'(f_ib) * IN_LANES == 32'(p_k));
        if (p_hold_v && f_ofr == F && K >= p_k && 32'(K) / IN_LANES == 32'(p_k) / IN_LANES)
          assert (f_kgot && $signed(p_hold[(K - p_k)*ACC_W +: ACC_W]) == f_logit);
        if (f_ofr == F && (p_hold_v || p_cls || p_k != '0)) assert (f_fgot && p_sflag == f_flag);
        if (f_ifr == F && f_ib == '0) assert (!f_kgot && !f_fgot);
        if (f_ifr == F && f_ib != '0) assert (f_fgot && f_kgot == (32'(K) / IN_LANES < 32'(f_ib)));
        if (f_ob != '0) assert (p_sbest == f_best && p_sbest_idx == f_bidx);
      end
    end
  end
endmodule
