// skip_fifo: the skip path of a residual block, a FIFO of exactly DEPTH beats.
//
// The planner sizes DEPTH (model/cycles.py skip_depth): while the other branch fills its line
// buffers it keeps taking beats that the skip path must hold, and one entry fewer than that
// deadlocks the block (tb/engine/test_resnet.py shows it). Unlike axis_fifo, DEPTH need not be
// a power of two and counts every beat held (no extra output register), so the capacity is
// exactly what the planner asked for.
// Memory with asynchronous read (LUT RAM or flops): m_axis_tdata = mem[rd_ptr].
// s_axis_tready = not full, m_axis_tvalid = not empty, both from flip-flops (so a full FIFO
// takes no beat in the cycle it pops one). Latency 1 cycle; one beat per cycle in and out for
// DEPTH >= 2 (DEPTH = 1: every other cycle).
//
// Simulation only (STALL_REPORT > 0): when the FIFO has been full, offered a beat and not
// popped for STALL_REPORT cycles it prints once where it is stuck (the block's other branch
// produces nothing: a deadlock), so that a watchdog's "stuck" names the stage.
//
// Parameters:
//   DATA_W        width of tdata (tlast travels beside it), >= 1
//   DEPTH         capacity in beats, >= 1
//   STALL_REPORT  cycles full and stalled before the report (0: no report)
module skip_fifo #(
  parameter int DATA_W       = 8,
  parameter int DEPTH        = 4,
  parameter int STALL_REPORT = 0
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
  if (DATA_W < 1 || DEPTH < 1 || STALL_REPORT < 0) begin : g_bad_param
    $fatal(1, "skip_fifo: need DATA_W >= 1, DEPTH >= 1, STALL_REPORT >= 0");
  end

  localparam int AW = (DEPTH > 1) ? $clog2(DEPTH) : 1;
  localparam int CW = $clog2(DEPTH + 1);

  logic [DATA_W:0] mem_q [DEPTH];  // {tlast, tdata}
  logic [AW-1:0]   wr_q, rd_q;
  logic [CW-1:0]   count_q;

  wire push = s_axis_tvalid && s_axis_tready;
  wire pop  = m_axis_tvalid && m_axis_tready;

  assign s_axis_tready = count_q != CW'(DEPTH);
  assign m_axis_tvalid = count_q != '0;
  assign {m_axis_tlast, m_axis_tdata} = mem_q[rd_q];

  wire [AW-1:0] wr_next = (wr_q == AW'(DEPTH - 1)) ? '0 : wr_q + 1'b1;
  wire [AW-1:0] rd_next = (rd_q == AW'(DEPTH - 1)) ? '0 : rd_q + 1'b1;

  always_ff @(posedge clk) begin
    if (rst) begin
      wr_q    <= '0;
      rd_q    <= '0;
      count_q <= '0;
    end else begin
      if (push) wr_q <= wr_next;
      if (pop) rd_q <= rd_next;
      count_q <= count_q + CW'(push) - CW'(pop);
    end
  end

  always_ff @(posedge clk) begin
    if (push) mem_q[wr_q] <= {s_axis_tlast, s_axis_tdata};
  end

`ifndef SYNTHESIS
  // Where a deadlocked residual block is stuck: this FIFO full, its reader waiting for the
  // other branch.
  int unsigned cycle_q, stuck_q;
  always_ff @(posedge clk) begin
    if (rst) begin
      cycle_q <= 0;
      stuck_q <= 0;
    end else begin
      cycle_q <= cycle_q + 1;
      stuck_q <= (!s_axis_tready && s_axis_tvalid && !pop) ? stuck_q + 1 : 0;
      if (STALL_REPORT > 0 && stuck_q == STALL_REPORT) begin
        $display("skip_fifo %m: full (%0d beats) and not read for %0d cycles at cycle %0d: the other branch of the block waits for more input than the skip path holds",
                 DEPTH, STALL_REPORT, cycle_q);
      end
    end
  end
`endif
endmodule
