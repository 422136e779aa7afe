// Formal properties of rtl/skip_fifo.sv, the skip path of a residual block (proved by
// k-induction, formal/proofs.py). DEPTH 3: not a power of two, so the pointers wrap by compare.
// "// probe: <signal>" wires are connected to the flattened design's internal signals by
// formal/proofs.py; they serve the induction invariants at the end only.
`default_nettype none

module skip_fifo_props #(
  parameter int DATA_W = 2,
  parameter int DEPTH  = 3   // the probes below list DEPTH memory words: change them together
) (
  input wire logic clk
);
  localparam int W  = DATA_W + 1;  // {tlast, tdata}, as the memory stores it
  localparam int AW = (DEPTH > 1) ? $clog2(DEPTH) : 1;
  localparam int CW = $clog2(DEPTH + 1);

  (* anyseq *) logic              rst, s_tvalid, s_tlast, m_tready;
  (* anyseq *) logic [DATA_W-1:0] s_tdata;
  logic              s_tready, m_tvalid, m_tlast;
  logic [DATA_W-1:0] m_tdata;

  skip_fifo #(.DATA_W(DATA_W), .DEPTH(DEPTH)) dut (
    .clk, .rst,
    .s_axis_tdata(s_tdata), .s_axis_tlast(s_tlast), .s_axis_tvalid(s_tvalid), .s_axis_tready(s_tready),
    .m_axis_tdata(m_tdata), .m_axis_tlast(m_tlast), .m_axis_tvalid(m_tvalid), .m_axis_tready(m_tready)
  );

  logic past_valid = 1'b0;
  always_ff @(posedge clk) past_valid <= 1'b1;
  always_comb if (!past_valid) assume (rst);  // start in reset

  f_axis_stable #(.W(W), .SOURCE(1)) u_src (.clk, .rst, .valid(s_tvalid), .ready(s_tready), .payload({s_tlast, s_tdata}));
  f_axis_stable #(.W(W)) u_out (.clk, .rst, .valid(m_tvalid), .ready(m_tready), .payload({m_tlast, m_tdata}));

  logic [3:0]   occ, pos;
  logic         held;
  logic [W-1:0] data;
  f_axis_track #(.W(W), .CAP(DEPTH)) u_track (
    .clk, .rst,
    .in_fire(s_tvalid && s_tready), .in_data({s_tlast, s_tdata}),
    .out_fire(m_tvalid && m_tready), .out_data({m_tlast, m_tdata}),
    .occ, .held, .pos, .data
  );

  always_comb begin
    if (past_valid && !rst) begin
      assert (s_tready == (occ != 4'(DEPTH)));  // capacity exactly DEPTH: ready until full
      assert (m_tvalid == (occ != 0));          // a beat inside is offered (no beat stuck)
    end
  end

  // Reset empties the FIFO: no output beat, input ready.
  always_ff @(posedge clk) if (past_valid && $past(rst)) assert (!m_tvalid && s_tready && occ == 0);

  // Induction invariants: the scoreboard matches count, pointers and memory.
  logic [AW-1:0]      p_wr;     // probe: dut.wr_q
  logic [AW-1:0]      p_rd;     // probe: dut.rd_q
  logic [CW-1:0]      p_count;  // probe: dut.count_q
  logic [W-1:0]       p_mem0;   // probe: dut.mem_q[0]
  logic [W-1:0]       p_mem1;   // probe: dut.mem_q[1]
  logic [W-1:0]       p_mem2;   // probe: dut.mem_q[2]
  logic [DEPTH*W-1:0] p_mem;
  assign p_mem = {p_mem2, p_mem1, p_mem0};

  logic [3:0] f_slot;  // memory address of the followed beat: rd + pos, mod DEPTH
  assign f_slot = (4'(p_rd) + pos) % 4'(DEPTH);

  always_comb begin
    if (past_valid) begin
      assert (p_wr < AW'(DEPTH) && p_rd < AW'(DEPTH));
      assert (4'(p_count) == occ);
      assert ((4'(p_rd) + occ) % 4'(DEPTH) == 4'(p_wr));
      if (held) assert (p_mem[f_slot*W +: W] == data);
    end
  end
endmodule
