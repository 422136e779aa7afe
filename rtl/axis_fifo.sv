// axis_fifo: synchronous AXI4-Stream FIFO with a registered output.
//
// A DEPTH-entry memory (asynchronous read: LUT RAM or flops) feeds an output register, so
// the FIFO holds up to DEPTH + 1 beats. When the memory is empty and the output register is
// free (or being emptied), an input beat goes straight to the output register.
// m_axis_* come from flip-flops; s_axis_tready = "memory not full" is a flip-flop of its own
// (full_q, updated from push and pop; before 2026-11-30 a compare of the two pointers, three
// LUT levels at the head of the UP5K's critical ready chain): no combinational path between
// the two sides.
// Throughput: one beat per cycle in and out. Latency: 1 cycle (input beat to m_axis_tvalid)
// when the FIFO is empty, cycles per output 1.
//
// Parameters:
//   DATA_W  width of tdata (tlast travels beside it), >= 1
//   DEPTH   memory entries, a power of two >= 2 (capacity DEPTH + 1 beats)
module axis_fifo #(
  parameter int DATA_W = 8,
  parameter int DEPTH  = 16
) (
  input  logic              clk,
  input  logic              rst,
  input  logic [DATA_W-1:0] s_axis_tdata,
  input  logic              s_axis_tlast,
  input  logic              s_axis_tvalid,
  output logic              s_axis_tready,
  output logic [DATA_W-1:0] m_axis_tdata,
  output logic              m_axis_tlast,
  output logic              m_axis_tvalid,
  input  logic              m_axis_tready
);
  if (DATA_W < 1) begin : g_bad_data_w
    $fatal(1, "axis_fifo: DATA_W must be >= 1");
  end
  if (DEPTH < 2 || (DEPTH & (DEPTH - 1)) != 0) begin : g_bad_depth
    $fatal(1, "axis_fifo: DEPTH must be a power of two >= 2");
  end

  localparam int AW = $clog2(DEPTH);

  logic [DATA_W:0] mem_q [DEPTH];          // {tlast, tdata}
  logic [AW:0]     wr_ptr_q, rd_ptr_q;     // one extra bit tells full from empty
  logic [DATA_W:0] out_q;
  logic            out_valid_q;

  wire  empty = (wr_ptr_q == rd_ptr_q);
  // One write short of full: from the pointers alone, so full_q's next state is shallow.
  wire [AW:0] wr_inc = wr_ptr_q + 1'b1;
  wire  almost_full = (wr_inc == {~rd_ptr_q[AW], rd_ptr_q[AW-1:0]});
  logic full_q;  // == (wr_ptr_q == {~rd_ptr_q[AW], rd_ptr_q[AW-1:0]})

  assign s_axis_tready = !full_q;
  assign m_axis_tdata  = out_q[DATA_W-1:0];
  assign m_axis_tlast  = out_q[DATA_W];
  assign m_axis_tvalid = out_valid_q;

  wire in_fire  = s_axis_tvalid && s_axis_tready;
  wire out_free = !out_valid_q || m_axis_tready;   // output register loads this cycle if fed
  wire pop      = out_free && !empty;              // memory -> output register
  wire bypass   = out_free && empty && in_fire;    // input -> output register
  wire push     = in_fire && !bypass;              // input -> memory

  always_ff @(posedge clk) begin
    if (rst) begin
      wr_ptr_q    <= '0;
      rd_ptr_q    <= '0;
      out_valid_q <= 1'b0;
      full_q      <= 1'b0;
    end else begin
      if (push) wr_ptr_q <= wr_inc;
      if (pop) rd_ptr_q <= rd_ptr_q + 1'b1;
      if (push && !pop) full_q <= almost_full;  // one more beat in the memory
      else if (pop && !push) full_q <= 1'b0;    // one fewer
      if (out_free) out_valid_q <= pop || bypass;
    end
  end

  always_ff @(posedge clk) begin
    // Written on every input handshake, bypass or not: a bypassed beat lands in the free slot
    // at wr_ptr_q, which stays free (the pointer does not move). The memory's write enable
    // then does not wait for m_axis_tready (a UP5K critical path through `bypass`).
    if (in_fire) mem_q[wr_ptr_q[AW-1:0]] <= {s_axis_tlast, s_axis_tdata};
    if (pop) out_q <= mem_q[rd_ptr_q[AW-1:0]];
    else if (bypass) out_q <= {s_axis_tlast, s_axis_tdata};
  end
endmodule
