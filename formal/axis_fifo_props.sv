// Formal properties of rtl/axis_fifo.sv (proved by k-induction, formal/proofs.py).
// "// probe: <signal>" wires are connected to the flattened design's internal signals by
// formal/proofs.py; they serve the induction invariants at the end only.
`default_nettype none

module axis_fifo_props #(
  parameter int DATA_W = 2,
  parameter int DEPTH  = 4,  // the probes below list DEPTH memory words: change them together
  parameter int SYNC_MIN_BITS = 256   // 1: the synchronous read (block RAM) form
) (
  input wire logic clk
);
  localparam int W   = DATA_W + 1;  // {tlast, tdata}, as the memory stores it
  localparam int AW  = $clog2(DEPTH);
  localparam int CAP = DEPTH + 1;   // memory + output register

  (* anyseq *) logic              rst, s_tvalid, s_tlast, m_tready;
  (* anyseq *) logic [DATA_W-1:0] s_tdata;
  logic              s_tready, m_tvalid, m_tlast;
  logic [DATA_W-1:0] m_tdata;

  axis_fifo #(.DATA_W(DATA_W), .DEPTH(DEPTH), .SYNC_MIN_BITS(SYNC_MIN_BITS)) dut (
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
  f_axis_track #(.W(W), .CAP(CAP)) u_track (
    .clk, .rst,
    .in_fire(s_tvalid && s_tready), .in_data({s_tlast, s_tdata}),
    .out_fire(m_tvalid && m_tready), .out_data({m_tlast, m_tdata}),
    .occ, .held, .pos, .data
  );

  always_comb begin
    if (past_valid && !rst) begin
      assert (s_tready == (occ != 4'(CAP)));  // capacity exactly DEPTH + 1: ready until full
      assert (m_tvalid == (occ != 0));        // a beat inside is offered (no beat stuck)
    end
  end

  // Reset empties the FIFO: no output beat, input ready.
  always_ff @(posedge clk) if (past_valid && $past(rst)) assert (!m_tvalid && s_tready && occ == 0);

  // Induction invariants: the scoreboard matches pointers, memory and output register.
  logic [AW:0]          p_wr;         // probe: dut.wr_ptr_q
  logic [AW:0]          p_rd;         // probe: dut.rd_ptr_q
  logic                 p_out_valid;  // probe: dut.out_valid_q
  logic                 p_full;       // probe: dut.full_q
  logic [W-1:0]         p_out;        // probe: dut.out_q
  logic [W-1:0]         p_mem0;       // probe: dut.mem_q[0]
  logic [W-1:0]         p_mem1;       // probe: dut.mem_q[1]
  logic [W-1:0]         p_mem2;       // probe: dut.mem_q[2]
  logic [W-1:0]         p_mem3;       // probe: dut.mem_q[3]
  logic [W-1:0]         p_head;       // probe: dut.head
  logic [DEPTH*W-1:0]   p_mem;
  assign p_mem = {p_mem3, p_mem2, p_mem1, p_mem0};

  logic [AW:0] f_used;  // words in the memory
  logic [AW:0] f_slot;  // memory address of the followed beat (when it is in the memory)
  assign f_used = p_wr - p_rd;
  assign f_slot = p_rd + (AW+1)'(pos) - 1'b1;

  always_comb begin
    if (past_valid) begin
      assert (f_used <= (AW+1)'(DEPTH));
      assert (p_full == (f_used == (AW+1)'(DEPTH)));  // the full flag follows the pointers
      assert (occ == 4'(f_used) + 4'(p_out_valid));
      assert (f_used == 0 || p_out_valid);
      if (held && pos == 0) assert (p_out == data);
      if (held && pos != 0) assert (p_mem[f_slot[AW-1:0]*W +: W] == data);
      // the word the output register pops is the memory's oldest (synchronous read: the
      // read register, or the word written at the edge of that read)
      if (f_used != 0) assert (p_head == p_mem[p_rd[AW-1:0]*W +: W]);
    end
  end
endmodule
