// gap_unit: global average pooling of frames of N beats of C uint8 lanes.
//
//   y[c] = (sum[c] * M + 2**(R-1)) >> R,   sum[c] = the frame's N values of lane c
//
// (M, R) make this floor(sum / N + 1/2) for every possible sum (model/quant.py
// gap_multiplier): the average keeps the input's scale, and the RTL needs no divider.
// One output beat per frame (tlast set), 1 cycle after the frame's last input beat; frames
// are exactly N beats (s_axis_tlast is ignored). Input one beat per cycle; the last beat of a
// frame waits while the previous result is still unread.
//
// Parameters:
//   C     lanes, >= 1
//   N     beats per frame, >= 1
//   M, R  the division constants, M >= 1, R in 1..40
module gap_unit #(
  parameter int C = 4,
  parameter int N = 49,
  parameter int M = 1337,
  parameter int R = 16
) (
  input  logic           clk,
  input  logic           rst,
  input  logic [C*8-1:0] s_axis_tdata,
  /* verilator lint_off UNUSEDSIGNAL */
  input  logic           s_axis_tlast,  // ignored: the module counts beats
  /* verilator lint_on UNUSEDSIGNAL */
  input  logic           s_axis_tvalid,
  output logic           s_axis_tready,
  output logic [C*8-1:0] m_axis_tdata,
  output logic           m_axis_tlast,
  output logic           m_axis_tvalid,
  input  logic           m_axis_tready
);
  if (C < 1 || N < 1 || M < 1 || R < 1 || R > 40) begin : g_bad_param
    $fatal(1, "gap_unit: need C, N, M >= 1 and R in 1..40");
  end

  localparam int SUM_W = 8 + $clog2(N + 1);
  localparam int NW    = (N > 1) ? $clog2(N) : 1;

  logic [NW-1:0]        cnt_q;
  logic [C*SUM_W-1:0]   sum_q;
  logic [C*8-1:0]       out_q, y_d;
  logic                 out_valid_q;

  wire last_beat = cnt_q == NW'(N - 1);
  assign s_axis_tready = !(last_beat && out_valid_q && !m_axis_tready);
  wire fire = s_axis_tvalid && s_axis_tready;

  always_comb begin
    logic [63:0] total;
    for (int c = 0; c < C; c++) begin
      total = 64'(sum_q[c*SUM_W +: SUM_W]) + 64'(s_axis_tdata[c*8 +: 8]);
      total = (total * 64'(M) + (64'd1 << (R - 1))) >> R;
      y_d[c*8 +: 8] = total[7:0];
    end
  end

  always_ff @(posedge clk) begin
    if (rst) begin
      cnt_q       <= '0;
      sum_q       <= '0;
      out_valid_q <= 1'b0;
    end else begin
      if (m_axis_tready) out_valid_q <= 1'b0;
      if (fire) begin
        cnt_q <= last_beat ? '0 : cnt_q + 1'b1;
        for (int c = 0; c < C; c++) begin
          sum_q[c*SUM_W +: SUM_W] <= last_beat ? '0 : sum_q[c*SUM_W +: SUM_W] + SUM_W'(s_axis_tdata[c*8 +: 8]);
        end
        if (last_beat) out_valid_q <= 1'b1;
      end
    end
  end

  always_ff @(posedge clk) begin
    if (fire && last_beat) out_q <= y_d;
  end

  assign m_axis_tdata  = out_q;
  assign m_axis_tlast  = 1'b1;
  assign m_axis_tvalid = out_valid_q;
endmodule
