// Property blocks shared by the formal wrappers (formal/<module>_props.sv).
`default_nettype none

// AXI4-Stream stability of one stream: once TVALID is high without TREADY, TVALID stays high
// and the payload holds until the handshake.
//   SOURCE = 1: assumed (an upstream that obeys the rule; a source in reset may drop TVALID).
//   SOURCE = 0: asserted (a module output: registered, so it holds even in the first cycle of
//               a synchronous reset, before the reset edge).
//   COMB = 1 (with SOURCE = 0): an output that passes its source through combinationally
//               (axis_fork): asserted outside reset only, since the source may drop TVALID in
//               reset and the output follows it.
module f_axis_stable #(
  parameter int W      = 1,
  parameter bit SOURCE = 0,
  parameter bit COMB   = 0
) (
  input wire logic         clk,
  input wire logic         rst,
  input wire logic         valid,
  input wire logic         ready,
  input wire logic [W-1:0] payload
);
  logic past_valid = 1'b0;
  always_ff @(posedge clk) past_valid <= 1'b1;

  always_ff @(posedge clk) begin
    if (past_valid && !$past(rst) && $past(valid && !ready)) begin
      if (SOURCE) begin
        if (!rst) assume (valid && payload == $past(payload));
      end else if (!COMB || !rst) begin
        assert (valid && payload == $past(payload));
      end
    end
  end
endmodule

// Beat scoreboard of a path that must pass every beat once, in order (a FIFO-like path).
// Handshakes in and out are counted mod 2**CW (CAP, the most beats inside, stays far below);
// one beat is followed, chosen by the solver (anyconst idx): the idx-th beat in must leave as
// the idx-th beat out with its payload. Any beat can be the followed one, so this holds for
// every beat: none lost, duplicated or reordered. Handshakes while rst is high do not count
// (the module and both neighbours are in reset).
module f_axis_track #(
  parameter int W   = 1,
  parameter int CW  = 4,
  parameter int CAP = 2
) (
  input  wire logic          clk,
  input  wire logic          rst,
  input  wire logic          in_fire,
  input  wire logic [W-1:0]  in_data,
  input  wire logic          out_fire,
  input  wire logic [W-1:0]  out_data,
  output logic      [CW-1:0] occ,    // beats inside
  output logic               held,   // the followed beat is inside ...
  output logic      [CW-1:0] pos,    // ... at this place, 0 = the next to leave
  output logic      [W-1:0]  data    // its payload
);
  (* anyconst *) logic [CW-1:0] idx;
  logic [CW-1:0] n_in = '0, n_out = '0;

  always_ff @(posedge clk) begin
    if (rst) begin
      n_in  <= '0;
      n_out <= '0;
    end else begin
      n_in  <= n_in + CW'(in_fire);
      n_out <= n_out + CW'(out_fire);
      if (in_fire && n_in == idx) data <= in_data;
    end
  end

  assign occ  = n_in - n_out;
  assign pos  = idx - n_out;
  assign held = pos < occ;

  always_comb begin
    assert (occ <= CW'(CAP));
    if (!rst && out_fire) begin
      assert (occ != '0);                              // nothing leaves that did not enter
      if (n_out == idx) assert (out_data == data);     // the followed beat, unchanged, in its turn
    end
  end
endmodule
