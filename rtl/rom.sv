// rom: read-only memory initialised from a $readmemh file, registered (synchronous) read.
//
// PORTS = 1 is the plain block-RAM shape (Yosys infers a ROM / BRAM with read enable).
// PORTS > 1 gives that many independent read ports on the same contents, for small tables
// read in parallel (e.g. an activation LUT looked up by every lane of a beat); Yosys then
// replicates the memory or maps it to logic.
//
// Port p: address addr[p*AW +: AW], data rd_data[p*WIDTH +: WIDTH].
// Latency: 1 cycle (rd_data is the word addressed at the last rising edge with en = 1; it
// holds while en = 0). One read per port per cycle. Addresses must be < DEPTH.
//
// In simulation (no SYNTHESIS define) the file is checked before it is loaded, see
// mem_check.svh: a missing file, a word count other than DEPTH, a non-hex word or a word
// wider than WIDTH stops the simulation with $fatal naming the file.
//
// Parameters:
//   DEPTH      number of words (>= 1)
//   WIDTH      bits per word (>= 1)
//   INIT_FILE  path of the $readmemh file (exactly DEPTH words, lower-case hex)
//   PORTS      number of read ports (>= 1)
module rom #(
  parameter int DEPTH     = 16,
  parameter int WIDTH     = 8,
  parameter     INIT_FILE = "",
  parameter int PORTS     = 1,
  localparam int AW = (DEPTH > 1) ? $clog2(DEPTH) : 1
) (
  input  logic                   clk,
  input  logic                   en,
  input  logic [PORTS*AW-1:0]    addr,
  output logic [PORTS*WIDTH-1:0] rd_data
);
  if (DEPTH < 1) begin : g_bad_depth
    $fatal(1, "rom: DEPTH must be >= 1");
  end
  if (WIDTH < 1) begin : g_bad_width
    $fatal(1, "rom: WIDTH must be >= 1");
  end
  if (PORTS < 1) begin : g_bad_ports
    $fatal(1, "rom: PORTS must be >= 1");
  end

  logic [WIDTH-1:0] mem_q [DEPTH];

`ifndef SYNTHESIS
`include "mem_check.svh"
  initial begin
    mem_check("rom", INIT_FILE, DEPTH, WIDTH);
    $readmemh(INIT_FILE, mem_q);
  end
`else
  if (INIT_FILE != "") begin : g_init
    initial $readmemh(INIT_FILE, mem_q);
  end
`endif

  for (genvar p = 0; p < PORTS; p++) begin : g_port
    logic [WIDTH-1:0] rd_q;
    always_ff @(posedge clk) begin
      if (en) rd_q <= mem_q[addr[p*AW +: AW]];
    end
    assign rd_data[p*WIDTH +: WIDTH] = rd_q;
  end
endmodule
