// Formal properties of rtl/add_unit.sv, the join of a residual block (proved by k-induction,
// formal/proofs.py).
//
// Two inputs, one registered output. The inputs are taken together (a pair), and the scoreboard
// follows pairs: the n-th output beat must be the sum of the n-th pair, computed here by a
// reference written apart from the RTL (32-bit integers: sign or zero extension, multipliers,
// the rounding constant, the arithmetic shift, the clamp) with tlast from input a.
// No probes: the output register is the module's whole state and its ports show it.
`default_nettype none

module add_unit_props #(
  parameter int C        = 2,
  parameter int SIGNED_A = 1,
  parameter int SIGNED_B = 0,
  parameter int MA       = 3,
  parameter int MB       = 5,
  parameter int R        = 3,
  parameter int LO       = 0,
  parameter int HI       = 255
) (
  input wire logic clk
);
  localparam int D = C * 8;
  localparam int W = D + 1;  // {tlast, tdata}

  (* anyseq *) logic         rst, a_tvalid, a_tlast, b_tvalid, b_tlast, m_tready;
  (* anyseq *) logic [D-1:0] a_tdata, b_tdata;
  logic         a_tready, b_tready, m_tvalid, m_tlast;
  logic [D-1:0] m_tdata;

  add_unit #(
    .C(C), .SIGNED_A(SIGNED_A), .SIGNED_B(SIGNED_B), .MA(MA), .MB(MB), .R(R), .POW2(0), .LO(LO), .HI(HI)
  ) dut (
    .clk, .rst,
    .s_a_axis_tdata(a_tdata), .s_a_axis_tlast(a_tlast), .s_a_axis_tvalid(a_tvalid), .s_a_axis_tready(a_tready),
    .s_b_axis_tdata(b_tdata), .s_b_axis_tlast(b_tlast), .s_b_axis_tvalid(b_tvalid), .s_b_axis_tready(b_tready),
    .m_axis_tdata(m_tdata), .m_axis_tlast(m_tlast), .m_axis_tvalid(m_tvalid), .m_axis_tready(m_tready)
  );

  logic past_valid = 1'b0;
  always_ff @(posedge clk) past_valid <= 1'b1;
  always_comb if (!past_valid) assume (rst);  // start in reset

  // AXI-Stream rules: assumed of both sources (each on its own), asserted of the output.
  f_axis_stable #(.W(W), .SOURCE(1)) u_a (.clk, .rst, .valid(a_tvalid), .ready(a_tready), .payload({a_tlast, a_tdata}));
  f_axis_stable #(.W(W), .SOURCE(1)) u_b (.clk, .rst, .valid(b_tvalid), .ready(b_tready), .payload({b_tlast, b_tdata}));
  f_axis_stable #(.W(W)) u_out (.clk, .rst, .valid(m_tvalid), .ready(m_tready), .payload({m_tlast, m_tdata}));

  // Reference sum of a pair, lane by lane.
  logic [D-1:0] ref_y;
  for (genvar c = 0; c < C; c++) begin : g_ref
    wire signed [31:0] ea = SIGNED_A != 0 ? {{24{a_tdata[c*8+7]}}, a_tdata[c*8 +: 8]} : {24'd0, a_tdata[c*8 +: 8]};
    wire signed [31:0] eb = SIGNED_B != 0 ? {{24{b_tdata[c*8+7]}}, b_tdata[c*8 +: 8]} : {24'd0, b_tdata[c*8 +: 8]};
    wire signed [31:0] s  = ea * MA + eb * MB + (32'sd1 <<< (R - 1));
    wire signed [31:0] y  = s >>> R;
    assign ref_y[c*8 +: 8] = y < LO ? 8'(LO) : y > HI ? 8'(HI) : y[7:0];
  end

  // Pairs in, beats out: none lost, duplicated or reordered, each the reference sum; at most
  // one inside (the output register).
  wire a_fire = a_tvalid && a_tready;
  wire b_fire = b_tvalid && b_tready;
  logic [3:0]   occ, pos;
  logic         held;
  logic [W-1:0] data;
  f_axis_track #(.W(W), .CAP(1)) u_track (
    .clk, .rst,
    .in_fire(a_fire), .in_data({a_tlast, ref_y}),
    .out_fire(m_tvalid && m_tready), .out_data({m_tlast, m_tdata}),
    .occ, .held, .pos, .data
  );

  always_comb begin
    if (past_valid && !rst) begin
      assert (a_fire == b_fire);  // the inputs are taken together: never one without the other
      // A pair is taken as soon as both are on offer and the output register is free.
      assert (a_fire == (a_tvalid && b_tvalid && (occ == 0 || m_tready)));
      assert (m_tvalid == (occ != 0));  // the beat inside is on offer
      if (held) assert ({m_tlast, m_tdata} == data);  // induction: the register holds the followed beat
    end
  end

  // Reset empties the output register.
  always_ff @(posedge clk) if (past_valid && $past(rst)) assert (!m_tvalid && occ == 0);
endmodule
