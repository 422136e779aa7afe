// Formal properties of rtl/axis_skid.sv (proved by k-induction, formal/proofs.py).
//
// Lines "// probe: <signal>" mark wires that formal/proofs.py connects to the named internal
// signal of the flattened design (Yosys has no hierarchical references): the induction
// invariants at the end need the module's state, the rest looks at ports only.
`default_nettype none

module axis_skid_props #(
  parameter int DATA_W = 3
) (
  input wire logic clk
);
  localparam int W = DATA_W + 1;  // {tlast, tdata}

  (* anyseq *) logic              rst, s_tvalid, s_tlast, m_tready;
  (* anyseq *) logic [DATA_W-1:0] s_tdata;
  logic              s_tready, m_tvalid, m_tlast;
  logic [DATA_W-1:0] m_tdata;

  axis_skid #(.DATA_W(DATA_W)) dut (
    .clk, .rst,
    .s_axis_tdata(s_tdata), .s_axis_tlast(s_tlast), .s_axis_tvalid(s_tvalid), .s_axis_tready(s_tready),
    .m_axis_tdata(m_tdata), .m_axis_tlast(m_tlast), .m_axis_tvalid(m_tvalid), .m_axis_tready(m_tready)
  );

  logic past_valid = 1'b0;
  always_ff @(posedge clk) past_valid <= 1'b1;
  always_comb if (!past_valid) assume (rst);  // start in reset

  // AXI-Stream rules: assumed of the source, asserted of the output.
  f_axis_stable #(.W(W), .SOURCE(1)) u_src (.clk, .rst, .valid(s_tvalid), .ready(s_tready), .payload({s_tlast, s_tdata}));
  f_axis_stable #(.W(W)) u_out (.clk, .rst, .valid(m_tvalid), .ready(m_tready), .payload({m_tlast, m_tdata}));

  // No beat lost, duplicated or reordered; at most two beats inside (main + skid).
  logic [3:0] occ, pos;
  logic       held;
  logic [W-1:0] data;
  f_axis_track #(.W(W), .CAP(2)) u_track (
    .clk, .rst,
    .in_fire(s_tvalid && s_tready), .in_data({s_tlast, s_tdata}),
    .out_fire(m_tvalid && m_tready), .out_data({m_tlast, m_tdata}),
    .occ, .held, .pos, .data
  );

  // Reset empties both registers: no output beat, input ready.
  always_ff @(posedge clk) if (past_valid && $past(rst)) assert (!m_tvalid && s_tready);

  // Induction invariants: the scoreboard matches the two registers.
  logic              p_out_valid;   // probe: dut.out_valid_q
  logic              p_skid_valid;  // probe: dut.skid_valid_q
  logic [DATA_W-1:0] p_out_data;    // probe: dut.out_data_q
  logic              p_out_last;    // probe: dut.out_last_q
  logic [DATA_W-1:0] p_skid_data;   // probe: dut.skid_data_q
  logic              p_skid_last;   // probe: dut.skid_last_q

  always_comb begin
    if (past_valid) begin
      assert (occ == 4'(p_out_valid) + 4'(p_skid_valid));
      assert (!p_skid_valid || p_out_valid);
      if (held && pos == 0) assert ({p_out_last, p_out_data} == data);
      if (held && pos == 1) assert ({p_skid_last, p_skid_data} == data);
    end
  end
endmodule
