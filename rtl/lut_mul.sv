// lut_mul: signed x unsigned multiplier in logic cells (LUTs and carry chains), for the
// products a design has no DSP block left for.
//
//   p = w * a,  w signed W_BITS bits, a unsigned A_BITS bits, p signed W_BITS + A_BITS bits
//
// Written without the `*` operator: synthesis tools map every `*` they find to a DSP block
// (Yosys synth_ecp5, synth_ice40 -dsp, synth_xilinx) and none of them takes a per-multiplier
// choice, so the DSP budget of a device is kept by writing the others out as shift-and-add.
// Row i is `a` where weight bit i is set; the rows are summed pairwise in a balanced tree
// (log2(W_BITS) adders deep), the sign row (i = W_BITS-1, worth -2^(W_BITS-1)) subtracted
// at the first level. Every node is exactly as wide as its value range, so each adder is a
// short carry chain (on the ECP5: 71 LUT4 + 32 CCU2C for 8 x 8, measured in docs/synthesis.md).
// A weight that is a constant (a fully unrolled layer) leaves only the adders of its set bits.
// PIPE = 0: combinational (lane_dot registers around it). PIPE = 1: the first level's sums
// registered when `en` is high (latency 1): the rows and one adder, then the rest of the tree,
// each within a cycle (lane_dot PIPE = 3 on the ECP5-25k: 11 ns in one piece).
//
// Parameters: W_BITS in {2, 4, 8}, A_BITS >= 1, PIPE 0 or 1; clk and en are used with PIPE = 1.
module lut_mul #(
  parameter int W_BITS = 8,
  parameter int A_BITS = 8,
  parameter int PIPE   = 0
) (
  input  logic                            clk,
  input  logic                            en,
  input  logic        [W_BITS-1:0]        w,
  input  logic        [A_BITS-1:0]        a,
  output logic signed [W_BITS+A_BITS-1:0] p
);
  localparam int LEVELS = $clog2(W_BITS);

  if (!(W_BITS == 2 || W_BITS == 4 || W_BITS == 8)) begin : g_err_w
    $fatal(1, "lut_mul: W_BITS (%0d) must be 2, 4 or 8", W_BITS);
  end
  if (A_BITS < 1) begin : g_err_a
    $fatal(1, "lut_mul: A_BITS must be >= 1");
  end
  if (PIPE != 0 && PIPE != 1) begin : g_err_pipe
    $fatal(1, "lut_mul: PIPE must be 0 or 1");
  end

  logic [A_BITS-1:0] row [W_BITS];
  for (genvar i = 0; i < W_BITS; i++) begin : g_row
    assign row[i] = w[i] ? a : '0;
  end

  // Level L sums groups of 2^L rows, A_BITS + 2^L bits each: unsigned, but for the last
  // group, which holds the sign row and is signed (its range fits the same width).
  for (genvar L = 1; L <= LEVELS; L++) begin : g_lvl
    localparam int NW   = A_BITS + (1 << L);
    localparam int NG   = W_BITS >> L;           // groups at this level
    localparam int HALF = 1 << (L - 1);          // the right half's shift
    localparam bit REG  = (L == 1) && (PIPE != 0);  // the pipeline register after level 1
    logic signed [NW-1:0] last_d, last;
    if (NG > 1) begin : g_pos
      logic [NW-1:0] grp_d [NG-1], grp [NG-1];
      for (genvar j = 0; j < NG - 1; j++) begin : g_grp
        if (L == 1) begin : g_rows
          assign grp_d[j] = NW'(row[2*j]) + (NW'(row[2*j+1]) << 1);
        end else begin : g_sum
          assign grp_d[j] = NW'(g_lvl[L-1].g_pos.grp[2*j]) + (NW'(g_lvl[L-1].g_pos.grp[2*j+1]) << HALF);
        end
      end
      if (REG) begin : g_reg
        always_ff @(posedge clk) begin
          if (en) grp <= grp_d;
        end
      end else begin : g_comb
        assign grp = grp_d;
      end
    end
    if (L == 1) begin : g_sign
      assign last_d = $signed(NW'(row[W_BITS-2])) - ($signed(NW'(row[W_BITS-1])) <<< 1);
    end else begin : g_sign
      assign last_d = $signed(NW'(g_lvl[L-1].g_pos.grp[NG*2-2])) + ($signed(NW'(g_lvl[L-1].last)) <<< HALF);
    end
    if (REG) begin : g_reg
      always_ff @(posedge clk) begin
        if (en) last <= last_d;
      end
    end else begin : g_comb
      assign last = last_d;
    end
  end

  assign p = g_lvl[LEVELS].last;

  if (PIPE == 0) begin : g_no_clk
    logic unused_clk;
    assign unused_clk = clk ^ en;
  end
endmodule
