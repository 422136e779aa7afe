// axis_fifo: synchronous AXI4-Stream FIFO with a registered output.
//
// A DEPTH-entry memory feeds an output register, so the FIFO holds up to DEPTH + 1 beats. When
// the memory is empty and the output register is free (or being emptied), an input beat goes
// straight to the output register.
// m_axis_* come from flip-flops; s_axis_tready = "memory not full" is a flip-flop of its own
// (full_q, updated from push and pop; before 2026-11-30 a compare of the two pointers, three
// LUT levels at the head of the UP5K's critical ready chain): no combinational path between
// the two sides.
// A memory of SYNC_MIN_BITS or more (block RAM on the iCE40) is read synchronously, as block
// RAM reads: rd_data_q holds the word at the address the read pointer has after each edge, so
// the head of the memory is ready when the output register pops it. A word written at the
// same edge as that read (the memory's old data) is taken from wr_data_q instead (fresh_q),
// a flag set from two pointer compares one LUT behind `pop`. Written as an asynchronous read,
// Yosys made the same port but added its own collision check: a chain of five LUTs behind
// `pop` on the UP5K's critical path. A smaller memory (flip-flops, LUT RAM) is read
// asynchronously into the output register: there a read port behind `pop` would put the
// whole read multiplexer behind it. Both behave the same, cycle for cycle.
// Throughput: one beat per cycle in and out. Latency: 1 cycle (input beat to m_axis_tvalid)
// when the FIFO is empty, cycles per output 1.
//
// Parameters:
//   DATA_W  width of tdata (tlast travels beside it), >= 1
//   DEPTH   memory entries, a power of two >= 2 (capacity DEPTH + 1 beats)
//   SYNC_MIN_BITS  memories of DEPTH*(DATA_W+1) >= SYNC_MIN_BITS bits are read synchronously
//           (default 256: the iCE40's block RAMs; formal/ proves both forms with 1 and 256)
module axis_fifo #(
  parameter int DATA_W = 8,
  parameter int DEPTH  = 16,
  parameter int SYNC_MIN_BITS = 256
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
  localparam bit SYNC_READ = DEPTH * (DATA_W + 1) >= SYNC_MIN_BITS;

  // {tlast, tdata}. Read-during-write never reaches the output (fresh_q): no check needed.
  (* no_rw_check *) logic [DATA_W:0] mem_q [DEPTH];
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
  wire [AW:0]   rd_inc  = rd_ptr_q + 1'b1;
  wire [AW-1:0] rd_addr = pop ? rd_inc[AW-1:0] : rd_ptr_q[AW-1:0];   // read pointer after the edge

  always_ff @(posedge clk) begin
    if (rst) begin
      wr_ptr_q    <= '0;
      rd_ptr_q    <= '0;
      out_valid_q <= 1'b0;
      full_q      <= 1'b0;
    end else begin
      if (push) wr_ptr_q <= wr_inc;
      if (pop) rd_ptr_q <= rd_inc;
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
  end

  logic [DATA_W:0] head;   // mem_q[rd_ptr_q]: the word the output register pops

  if (SYNC_READ) begin : g_sync_read
    // rd_data_q is mem_q[rd_addr] as it was before this edge's write; fresh_q says that write
    // went to rd_addr, whose word is then wr_data_q. Valid whenever the memory is not empty.
    logic [DATA_W:0] rd_data_q, wr_data_q;
    logic            fresh_q;
    assign head = fresh_q ? wr_data_q : rd_data_q;

    always_ff @(posedge clk) begin
      // wr == rd_addr, as two compares of registers chosen by pop (one LUT behind it)
      if (rst) fresh_q <= 1'b0;
      else     fresh_q <= in_fire && (pop ? (wr_ptr_q[AW-1:0] == rd_inc[AW-1:0])
                                          : (wr_ptr_q[AW-1:0] == rd_ptr_q[AW-1:0]));
    end

    always_ff @(posedge clk) begin
      rd_data_q <= mem_q[rd_addr];
      if (in_fire) wr_data_q <= {s_axis_tlast, s_axis_tdata};
    end
  end else begin : g_async_read
    assign head = mem_q[rd_ptr_q[AW-1:0]];
    logic [AW-1:0] unused_rd_addr;
    assign unused_rd_addr = rd_addr;
  end

  always_ff @(posedge clk) begin
    if (pop) out_q <= head;
    else if (bypass) out_q <= {s_axis_tlast, s_axis_tdata};
  end
endmodule
