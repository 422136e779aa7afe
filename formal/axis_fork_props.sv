// Formal properties of rtl/axis_fork.sv (proved by k-induction, formal/proofs.py).
//
// The fork has no storage: every output shows the input beat until it takes it. The scoreboard
// counts the input's handshakes and each output's; output i is "ahead" (has taken the current
// input beat) when it counted one handshake more than the input. One beat, chosen by the solver,
// is followed: what each output took as that beat must be the input's beat when it is retired.
// "// probe: <signal>" wires are connected to the flattened design's internal signals by
// formal/proofs.py; they serve the induction invariant at the end only.
`default_nettype none

module axis_fork_props #(
  parameter int DATA_W = 2,
  parameter int N      = 2   // the probe below is N bits wide
) (
  input wire logic clk
);
  localparam int W = DATA_W + 1;  // {tlast, tdata}

  (* anyseq *) logic              rst, s_tvalid, s_tlast;
  (* anyseq *) logic [DATA_W-1:0] s_tdata;
  (* anyseq *) logic [N-1:0]      m_tready;
  logic              s_tready, m_tlast;
  logic [DATA_W-1:0] m_tdata;
  logic [N-1:0]      m_tvalid;

  axis_fork #(.DATA_W(DATA_W), .N(N)) dut (
    .clk, .rst,
    .s_axis_tdata(s_tdata), .s_axis_tlast(s_tlast), .s_axis_tvalid(s_tvalid), .s_axis_tready(s_tready),
    .m_axis_tdata(m_tdata), .m_axis_tlast(m_tlast), .m_axis_tvalid(m_tvalid), .m_axis_tready(m_tready)
  );

  logic past_valid = 1'b0;
  always_ff @(posedge clk) past_valid <= 1'b1;
  always_comb if (!past_valid) assume (rst);  // start in reset

  // AXI-Stream rules: assumed of the source; asserted of every output, outside reset (the
  // outputs are the input passed through, and a source in reset may drop TVALID).
  f_axis_stable #(.W(W), .SOURCE(1)) u_src (.clk, .rst, .valid(s_tvalid), .ready(s_tready), .payload({s_tlast, s_tdata}));
  for (genvar i = 0; i < N; i++) begin : g_out
    f_axis_stable #(.W(W), .COMB(1)) u_out (
      .clk, .rst, .valid(m_tvalid[i]), .ready(m_tready[i]), .payload({m_tlast, m_tdata})
    );
  end

  // Scoreboard. Handshakes while rst is high do not count (module and neighbours in reset).
  wire          in_fire  = s_tvalid && s_tready;
  wire [N-1:0]  out_fire = m_tvalid & m_tready;
  (* anyconst *) logic [3:0] idx;               // the followed beat
  logic [3:0]              n_in = '0;
  logic [N-1:0][3:0]       n_out = '0;
  logic [N-1:0][W-1:0]     got;                 // the followed beat as output i took it
  logic [N-1:0]            ahead;               // output i has taken the current input beat

  always_ff @(posedge clk) begin
    if (rst) begin
      n_in  <= '0;
      n_out <= '0;
    end else begin
      n_in <= n_in + 4'(in_fire);
      for (int i = 0; i < N; i++) begin
        n_out[i] <= n_out[i] + 4'(out_fire[i]);
        if (out_fire[i] && n_out[i] == idx) got[i] <= {m_tlast, m_tdata};
      end
    end
  end

  always_comb begin
    for (int i = 0; i < N; i++) ahead[i] = n_out[i] != n_in;
    if (past_valid && !rst) begin
      for (int i = 0; i < N; i++) begin
        // Output i is never behind the input and at most the current beat ahead of it.
        assert (4'(n_out[i] - n_in) <= 4'd1);
        // It is offered the current beat until it takes it, then not again (no duplicate),
        // whatever the other outputs do (independent backpressure: no m_tready[j] here).
        assert (m_tvalid[i] == (s_tvalid && !ahead[i]));
        // A beat is retired only once every output has it (no beat lost) ...
        if (in_fire) assert (ahead[i] || out_fire[i]);
        // ... and the followed beat is what every output took, unchanged.
        if (in_fire && n_in == idx) assert ((out_fire[i] ? {m_tlast, m_tdata} : got[i]) == {s_tlast, s_tdata});
        // An output ahead waits for a beat that is still on offer.
        if (ahead[i]) assert (s_tvalid);
      end
      // ... and as soon as it is: no stall beyond the slowest output.
      if (s_tvalid) assert (s_tready == &(ahead | out_fire));
    end
  end

  // Reset clears the outputs' "taken" marks: every output is offered the next beat.
  always_ff @(posedge clk) if (past_valid && $past(rst)) assert (m_tvalid == {N{s_tvalid}});

  // Induction invariants: the module's marks are the scoreboard's, and an output ahead on the
  // followed beat took the beat still on offer.
  logic [N-1:0] p_done;  // probe: dut.done_q
  always_comb begin
    if (past_valid && !rst) begin
      assert (p_done == ahead);
      for (int i = 0; i < N; i++) if (ahead[i] && n_in == idx) assert (got[i] == {s_tlast, s_tdata});
    end
  end
endmodule
