// act_lut: activation lookup, C lanes of int8 in, C lanes of uint8 out: y = lut[x + 128].
//
// The 256-entry table comes from LUT_FILE (256 words of 8 bits, index x + 128) through
// rom.sv with C read ports, so the file is checked in simulation like every memory.
// The rom's read register is the output register: latency 1 cycle, cycles per output 1 (one
// beat per cycle). tlast passes through. s_axis_tready = !m_axis_tvalid || m_axis_tready
// (combinational from m_axis_tready); m_axis_* come from flip-flops.
//
// Lanes: input x[c] = s_axis_tdata[c*8 +: 8] (int8), output m_axis_tdata[c*8 +: 8] (uint8).
//
// Parameters:
//   C         lanes per beat, >= 1
//   LUT_FILE  $readmemh table, 256 words of 8 bits
module act_lut #(
  parameter int C        = 1,
  parameter     LUT_FILE = ""
) (
  input  logic           clk,
  input  logic           rst,
  input  logic [C*8-1:0] s_axis_tdata,
  input  logic           s_axis_tlast,
  input  logic           s_axis_tvalid,
  output logic           s_axis_tready,
  output logic [C*8-1:0] m_axis_tdata,
  output logic           m_axis_tlast,
  output logic           m_axis_tvalid,
  input  logic           m_axis_tready
);
  if (C < 1) begin : g_bad_c
    $fatal(1, "act_lut: C must be >= 1");
  end

  logic valid_q, last_q;
  wire  adv = !valid_q || m_axis_tready;

  assign s_axis_tready = adv;
  assign m_axis_tvalid = valid_q;
  assign m_axis_tlast  = last_q;

  always_ff @(posedge clk) begin
    if (rst) valid_q <= 1'b0;
    else if (adv) valid_q <= s_axis_tvalid;
  end

  always_ff @(posedge clk) begin
    if (adv) last_q <= s_axis_tlast;
  end

  // Index x + 128 of an int8 x is x with its sign bit flipped.
  logic [C*8-1:0] addr;
  for (genvar c = 0; c < C; c++) begin : g_addr
    assign addr[c*8 +: 8] = {~s_axis_tdata[c*8 + 7], s_axis_tdata[c*8 +: 7]};
  end

  rom #(
    .DEPTH    (256),
    .WIDTH    (8),
    .INIT_FILE(LUT_FILE),
    .PORTS    (C)
  ) u_lut (
    .clk    (clk),
    .en     (adv),
    .addr   (addr),
    .rd_data(m_axis_tdata)
  );
endmodule
