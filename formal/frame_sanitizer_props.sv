// Formal properties of rtl/frame_sanitizer.sv (proved by k-induction, formal/proofs.py).
// "// probe: <signal>" wires are connected to the flattened design's internal signals by
// formal/proofs.py; they serve the induction invariants at the end only.
//
// Port-level model: input frames are numbered (mod 4) and counted beat by beat; output beats
// are numbered (frame, position). One input beat (frame F, position P), chosen by the solver,
// is followed: output beat (F, P) must carry it (its null TKEEP lanes zeroed), or zero when
// input frame F ended before P. The flag also counts a null lane among a frame's first N beats.
`default_nettype none

module frame_sanitizer_props #(
  parameter int N_BEATS = 3,
  parameter int DATA_W  = 2,
  parameter int LANES   = 2
) (
  input wire logic clk
);
  localparam int N     = N_BEATS;
  localparam int PW    = $clog2(N + 1);  // input position, saturates at N (a long frame)
  localparam int CNT_W = $clog2(N + 1);  // the module's count_q
  localparam int LW    = DATA_W / LANES;

  (* anyseq *) logic              rst, s_tvalid, s_tlast, m_tready, flag_tready;
  (* anyseq *) logic [DATA_W-1:0] s_tdata;
  (* anyseq *) logic [LANES-1:0]  s_tkeep;
  logic              s_tready, m_tvalid, m_tlast, flag_tdata, flag_tvalid;
  logic [DATA_W-1:0] m_tdata;

  frame_sanitizer #(.N_BEATS(N_BEATS), .DATA_W(DATA_W), .LANES(LANES)) dut (
    .clk, .rst,
    .s_axis_tdata(s_tdata), .s_axis_tkeep(s_tkeep), .s_axis_tlast(s_tlast), .s_axis_tvalid(s_tvalid), .s_axis_tready(s_tready),
    .m_axis_tdata(m_tdata), .m_axis_tlast(m_tlast), .m_axis_tvalid(m_tvalid), .m_axis_tready(m_tready),
    .m_flag_tdata(flag_tdata), .m_flag_tvalid(flag_tvalid), .m_flag_tready(flag_tready)
  );

  logic past_valid = 1'b0;
  always_ff @(posedge clk) past_valid <= 1'b1;
  always_comb if (!past_valid) assume (rst);  // start in reset

  f_axis_stable #(.W(DATA_W+LANES+1), .SOURCE(1)) u_src (.clk, .rst, .valid(s_tvalid), .ready(s_tready),
                                                          .payload({s_tlast, s_tkeep, s_tdata}));
  f_axis_stable #(.W(DATA_W+1)) u_out (.clk, .rst, .valid(m_tvalid), .ready(m_tready), .payload({m_tlast, m_tdata}));
  f_axis_stable #(.W(1)) u_flag (.clk, .rst, .valid(flag_tvalid), .ready(flag_tready), .payload(flag_tdata));

  wire in_fire   = !rst && s_tvalid && s_tready;
  wire out_fire  = !rst && m_tvalid && m_tready;
  wire flag_fire = !rst && flag_tvalid && flag_tready;

  // Scoreboard: input frame (ended, mod 4) and position; output frame and position; flags.
  logic [1:0]        f_ifr, f_ofr, f_nflag;
  logic [PW-1:0]     f_ipos;   // beats of the current input frame taken, saturating at N
  logic [PW-1:0]     f_opos;   // position of the next output beat in its frame
  logic              f_exp_flag;                     // flag due for the last input frame ended
  logic              f_null;                         // a null lane in the current frame's first N
  logic [DATA_W-1:0] s_kept;                         // s_tdata with its null lanes zeroed
  always_comb for (int l = 0; l < LANES; l++) s_kept[l*LW +: LW] = s_tkeep[l] ? s_tdata[l*LW +: LW] : '0;
  wire f_null_now = f_null || (f_ipos < PW'(N) && !(&s_tkeep));  // including this beat
  (* anyconst *) logic [1:0]    F;
  (* anyconst *) logic [PW-1:0] P;
  logic              f_got, f_short;                 // beat (F, P) taken / frame F ended before P
  logic [DATA_W-1:0] f_data;                         // beat (F, P)
  always_comb assume (P < PW'(N));

  always_ff @(posedge clk) begin
    if (rst) begin
      f_ifr <= '0;  f_ofr <= '0;  f_nflag <= '0;  f_ipos <= '0;  f_opos <= '0;
      f_got <= 1'b0;  f_short <= 1'b0;  f_null <= 1'b0;
    end else begin
      if (in_fire) begin
        f_ipos <= s_tlast ? '0 : (f_ipos == PW'(N) ? f_ipos : f_ipos + 1'b1);
        f_null <= s_tlast ? 1'b0 : f_null_now;
        if (f_ifr == F && f_ipos == P) begin
          f_got  <= 1'b1;
          f_data <= s_kept;
        end
        if (s_tlast) begin
          f_ifr      <= f_ifr + 1'b1;
          f_exp_flag <= (f_ipos + 1'b1 != PW'(N)) || f_null_now;  // short, long, or a null lane
          if (f_ifr == F && f_ipos < P) f_short <= 1'b1;
          if (f_ifr + 2'd1 == F) begin               // frame F (again) begins: forget the old one
            f_got   <= 1'b0;
            f_short <= 1'b0;
          end
        end
      end
      if (out_fire) begin
        f_opos <= (f_opos == PW'(N - 1)) ? '0 : f_opos + 1'b1;
        if (f_opos == PW'(N - 1)) f_ofr <= f_ofr + 1'b1;
      end
      if (flag_fire) f_nflag <= f_nflag + 1'b1;
    end
  end

  // Reset: no beat taken while rst is high; afterwards nothing on offer and a new frame.
  always_comb if (rst) assert (!s_tready);
  always_ff @(posedge clk) if (past_valid && $past(rst)) assert (!m_tvalid && !flag_tvalid);

  always_comb begin
    if (past_valid && !rst) begin
      // Exactly N beats per output frame: TLAST on beat N only.
      if (m_tvalid) assert (m_tlast == (f_opos == PW'(N - 1)));
      // Output beat (F, P) is input beat (F, P), or a pad zero when frame F was short.
      if (m_tvalid && f_ofr == F && f_opos == P) assert (f_got ? m_tdata == f_data : f_short && m_tdata == '0);
      // One flag per input frame, after its end, in order, 1 exactly for a malformed frame.
      assert (f_ifr - f_nflag <= 2'd1);
      assert (flag_tvalid == (f_ifr != f_nflag));
      if (flag_tvalid) assert (flag_tdata == f_exp_flag);
    end
  end

  // Induction invariants: the module's mode, count and registers against the scoreboard.
  logic [1:0]       p_mode;        // probe: dut.mode_q
  logic [CNT_W-1:0] p_count;       // probe: dut.count_q
  logic             p_out_valid;   // probe: dut.out_valid_q
  logic             p_flag_valid;  // probe: dut.flag_valid_q
  logic             p_null;        // probe: dut.null_q
  logic             p_skid_valid;  // probe: dut.skid_valid_q
  logic             p_skid_last;   // probe: dut.skid_last_q
  logic [DATA_W-1:0] p_skid_data;  // probe: dut.skid_data_q
  logic             p_take;        // probe: dut.take_q

  localparam logic [1:0] PASS = 2'd0, PAD = 2'd1, DROP = 2'd2;
  // Beats held: the output register's (frame f_ofr, position f_opos), then the skid register's.
  logic [1:0]  f_held;                  // 0..2
  logic [31:0] f_next;                  // f_opos + f_held: position of the next beat produced
  logic [1:0]  f_pfr;                   // frame of the next beat the module produces
  logic [1:0]  f_sfr;                   // frame of the skid register's beat
  logic [PW-1:0] f_spos;                // its position
  assign f_held = 2'(p_out_valid) + 2'(p_skid_valid);
  assign f_next = 32'(f_opos) + 32'(f_held);
  assign f_pfr  = f_ofr + 2'(f_next >= N);
  assign f_sfr  = f_ofr + 2'(f_opos == PW'(N - 1));
  assign f_spos = (f_opos == PW'(N - 1)) ? '0 : f_opos + 1'b1;

  always_comb begin
    if (past_valid) begin
      assert (p_mode != 2'd3);
      assert (p_count < CNT_W'(N));
      assert (p_out_valid == m_tvalid && p_flag_valid == flag_tvalid);
      assert (32'(p_count) == f_next % N);
      assert (!p_skid_valid || p_out_valid);  // the skid register fills behind a stalled output
      assert (p_take == ((p_mode == PASS && !p_skid_valid) || p_mode == DROP));
      if (p_skid_valid) assert (p_skid_last == (f_spos == PW'(N - 1)));
      if (p_skid_valid && f_sfr == F && f_spos == P) assert (f_got ? p_skid_data == f_data : f_short && p_skid_data == '0);
      assert (f_ipos <= PW'(N) && f_opos < PW'(N));
      if (p_mode == PASS) assert (f_ifr == f_pfr && 32'(f_ipos) == 32'(p_count) && p_null == f_null);
      if (p_mode == PAD)  assert (!p_null && !f_null);
      if (p_mode == PAD)  assert (f_ifr == f_pfr + 2'd1 && f_ipos == '0 && p_count != '0);
      if (p_mode == DROP) assert (f_ifr + 2'd1 == f_pfr && p_count == '0 && f_ipos == PW'(N));
      if (p_mode == PAD && f_pfr == F && 32'(P) >= 32'(p_count)) assert (f_short && !f_got);
      if (f_ifr == F) assert (!f_short && f_got == (f_ipos > P));
      // frame F ended, output not past it (the input leads by up to two frames: the skid
      // register can hold a frame's first beat while the output register holds the last
      // beat of the one before)
      if ((f_ofr == F && (f_ifr == F + 2'd1 || f_ifr == F + 2'd2)) || (f_ofr + 2'd1 == F && f_ifr == F + 2'd1))
        assert (f_got != f_short);
    end
  end
endmodule
