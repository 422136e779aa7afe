// Formal properties of rtl/axis_gather.sv (proved by k-induction, formal/proofs.py).
// "// probe: <signal>" wires are connected to the flattened design's internal signals by
// formal/proofs.py; they serve the induction invariants at the end only.
//
// Port-level model: input beats are numbered (group mod 4, lane); a group closes on its N-th
// beat or an early TLAST. One lane L of one group G, chosen by the solver, is followed: output
// beat G carries input beat (G, L) in lane L, or zero when group G closed before lane L, and
// TLAST = the TLAST of group G's closing beat.
`default_nettype none

module axis_gather_props #(
  parameter int DATA_W = 2,
  parameter int N      = 3
) (
  input wire logic clk
);
  localparam int LW    = $clog2(N);
  localparam int CNT_W = $clog2(N);

  (* anyseq *) logic              rst, s_tvalid, s_tlast, m_tready;
  (* anyseq *) logic [DATA_W-1:0] s_tdata;
  logic                s_tready, m_tvalid, m_tlast;
  logic [N*DATA_W-1:0] m_tdata;

  axis_gather #(.DATA_W(DATA_W), .N(N)) dut (
    .clk, .rst,
    .s_axis_tdata(s_tdata), .s_axis_tlast(s_tlast), .s_axis_tvalid(s_tvalid), .s_axis_tready(s_tready),
    .m_axis_tdata(m_tdata), .m_axis_tlast(m_tlast), .m_axis_tvalid(m_tvalid), .m_axis_tready(m_tready)
  );

  logic past_valid = 1'b0;
  always_ff @(posedge clk) past_valid <= 1'b1;
  always_comb if (!past_valid) assume (rst);  // start in reset

  f_axis_stable #(.W(DATA_W+1), .SOURCE(1)) u_src (.clk, .rst, .valid(s_tvalid), .ready(s_tready), .payload({s_tlast, s_tdata}));
  f_axis_stable #(.W(N*DATA_W+1)) u_out (.clk, .rst, .valid(m_tvalid), .ready(m_tready), .payload({m_tlast, m_tdata}));

  wire in_fire  = !rst && s_tvalid && s_tready;
  wire out_fire = !rst && m_tvalid && m_tready;

  logic [1:0]        f_igrp, f_ogrp;  // groups closed at the input / sent
  logic [LW-1:0]     f_lane;          // lane of the next input beat
  (* anyconst *) logic [1:0]    G;
  (* anyconst *) logic [LW-1:0] L;
  logic              f_got, f_short, f_closed, f_glast;  // (G, L) taken; G closed before L; G closed; its TLAST
  logic [DATA_W-1:0] f_data;
  always_comb assume (L < LW'(N));

  wire closing = s_tlast || f_lane == LW'(N - 1);

  always_ff @(posedge clk) begin
    if (rst) begin
      f_igrp <= '0;  f_ogrp <= '0;  f_lane <= '0;
      f_got <= 1'b0;  f_short <= 1'b0;  f_closed <= 1'b0;
    end else begin
      if (in_fire) begin
        if (f_igrp == G && f_lane == L) begin
          f_got  <= 1'b1;
          f_data <= s_tdata;
        end
        if (closing) begin
          f_lane <= '0;
          f_igrp <= f_igrp + 1'b1;
          if (f_igrp == G) begin
            f_closed <= 1'b1;
            f_glast  <= s_tlast;
            if (f_lane < L) f_short <= 1'b1;
          end
          if (f_igrp + 2'd1 == G) begin  // group G (again) begins: forget the old one
            f_got <= 1'b0;  f_short <= 1'b0;  f_closed <= 1'b0;
          end
        end else begin
          f_lane <= f_lane + 1'b1;
        end
      end
      if (out_fire) f_ogrp <= f_ogrp + 1'b1;
    end
  end

  // Reset: nothing on offer, collecting from lane 0 again.
  always_ff @(posedge clk) if (past_valid && $past(rst)) assert (!m_tvalid && s_tready);

  logic [DATA_W-1:0] out_lane;
  assign out_lane = m_tdata[L*DATA_W +: DATA_W];

  always_comb begin
    if (past_valid && !rst) begin
      assert (f_igrp - f_ogrp <= 2'd2);
      if (m_tvalid) assert (f_igrp != f_ogrp);  // only closed groups leave
      if (m_tvalid && f_ogrp == G) begin
        assert (f_closed && m_tlast == f_glast);
        assert (f_got ? out_lane == f_data : f_short && out_lane == '0);
      end
    end
  end

  // Induction invariants: lane counter, pad state and collector against the scoreboard.
  logic [CNT_W-1:0]        p_cnt;        // probe: dut.g_gather.cnt_q
  logic                    p_pad;        // probe: dut.g_gather.pad_q
  logic                    p_out_valid;  // probe: dut.g_gather.out_valid_q
  logic [(N-1)*DATA_W-1:0] p_acc;        // probe: dut.g_gather.acc_q

  logic [1:0] f_cgrp;  // group the module is filling
  assign f_cgrp = p_pad ? f_igrp - 2'd1 : f_igrp;
  logic [DATA_W-1:0] acc_lane;
  assign acc_lane = (L < LW'(N - 1)) ? p_acc[L*DATA_W +: DATA_W] : '0;

  always_comb begin
    if (past_valid) begin
      assert (p_cnt < CNT_W'(N) && f_lane < LW'(N));
      assert (p_out_valid == m_tvalid);
      if (!p_pad) assert (32'(p_cnt) == 32'(f_lane) && f_igrp - f_ogrp == 2'(p_out_valid));
      if (p_pad)  assert (f_lane == '0 && p_cnt != '0 && f_igrp - f_ogrp == 2'(p_out_valid) + 2'd1);
      if (f_cgrp == G && 32'(L) < 32'(p_cnt)) assert (f_got ? acc_lane == f_data : f_short && acc_lane == '0);
      if (f_cgrp == G && p_pad) assert (f_closed && f_glast && (32'(L) < 32'(p_cnt) || (f_short && !f_got)));
      if (f_igrp == G) assert (!f_closed && !f_short && f_got == (L < f_lane));
    end
  end
endmodule
