// argmax: class index of one beat of N signed logits, lowest index on ties (numpy.argmax).
//
// Sequential scan, one comparator: the beat is registered, lane 0 becomes the running
// maximum at the input handshake, then lanes 1..N-1 are compared one per cycle (strict >,
// so the first maximum wins). The logits pass through unchanged beside the index:
//
//   m_axis_tdata = {index (IDX_W bits), logits (N*ACC_W bits, lane n at [n*ACC_W +: ACC_W])}
//
// IDX_W = max(1, $clog2(N)). tlast passes through.
// Latency: N cycles (input handshake to m_axis_tvalid; 1 for N = 1). Cycles per output: N
// (a new beat is accepted in the cycle the previous result leaves). The engine has one
// logits beat per image, thousands of cycles apart. s_axis_tready depends combinationally
// on m_axis_tready; m_axis_* come from flip-flops.
//
// Parameters:
//   N      logits (lanes) per beat, >= 1
//   ACC_W  logit width (signed), >= 2
module argmax #(
  parameter int N     = 10,
  parameter int ACC_W = 32,
  localparam int IDX_W = (N > 1) ? $clog2(N) : 1
) (
  input  logic                     clk,
  input  logic                     rst,
  input  logic [N*ACC_W-1:0]       s_axis_tdata,
  input  logic                     s_axis_tlast,
  input  logic                     s_axis_tvalid,
  output logic                     s_axis_tready,
  output logic [IDX_W+N*ACC_W-1:0] m_axis_tdata,
  output logic                     m_axis_tlast,
  output logic                     m_axis_tvalid,
  input  logic                     m_axis_tready
);
  if (N < 1) begin : g_bad_n
    $fatal(1, "argmax: N must be >= 1");
  end
  if (ACC_W < 2) begin : g_bad_acc_w
    $fatal(1, "argmax: ACC_W must be >= 2");
  end

  logic [N*ACC_W-1:0]      data_q;
  logic                    last_q;
  logic                    busy_q, out_valid_q;
  logic [IDX_W-1:0]        cnt_q, idx_q;
  logic signed [ACC_W-1:0] best_q;

  assign s_axis_tready = !busy_q && (!out_valid_q || m_axis_tready);
  assign m_axis_tvalid = out_valid_q;
  assign m_axis_tdata  = {idx_q, data_q};
  assign m_axis_tlast  = last_q;

  wire in_fire  = s_axis_tvalid && s_axis_tready;
  wire scan_end = (32'(cnt_q) == N - 1);
  wire signed [ACC_W-1:0] lane = data_q[32'(cnt_q)*ACC_W +: ACC_W];

  always_ff @(posedge clk) begin
    if (rst) begin
      busy_q      <= 1'b0;
      out_valid_q <= 1'b0;
    end else if (in_fire) begin
      busy_q      <= (N > 1);
      out_valid_q <= (N == 1);
    end else if (busy_q) begin
      if (scan_end) begin
        busy_q      <= 1'b0;
        out_valid_q <= 1'b1;
      end
    end else if (m_axis_tready) begin
      out_valid_q <= 1'b0;
    end
  end

  always_ff @(posedge clk) begin
    if (in_fire) begin
      data_q <= s_axis_tdata;
      last_q <= s_axis_tlast;
      best_q <= $signed(s_axis_tdata[ACC_W-1:0]);
      idx_q  <= '0;
      cnt_q  <= IDX_W'(1);
    end else if (busy_q) begin
      if (lane > best_q) begin
        best_q <= lane;
        idx_q  <= cnt_q;
      end
      cnt_q <= cnt_q + 1'b1;
    end
  end
endmodule
