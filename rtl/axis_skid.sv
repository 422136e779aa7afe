// axis_skid: AXI4-Stream register slice (skid buffer).
//
// Breaks every combinational path between the two sides: m_axis_* and s_axis_tready are all
// driven by flip-flops, so it can be dropped between any two stages to close timing.
// Throughput: one beat per cycle. Latency: 1 cycle. Storage: two beats (main + skid).
//
// Parameters:
//   DATA_W  width of tdata (tlast travels beside it)
module axis_skid #(
  parameter int DATA_W = 8
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
  // The skid register catches the beat accepted in the cycle the output stalled.
  logic [DATA_W-1:0] skid_data_q;
  logic              skid_last_q, skid_valid_q;
  logic [DATA_W-1:0] out_data_q;
  logic              out_last_q, out_valid_q;

  assign s_axis_tready = !skid_valid_q;
  assign m_axis_tdata  = out_data_q;
  assign m_axis_tlast  = out_last_q;
  assign m_axis_tvalid = out_valid_q;

  wire in_fire  = s_axis_tvalid && s_axis_tready;
  wire out_free = !out_valid_q || m_axis_tready;

  always_ff @(posedge clk) begin
    if (rst) begin
      out_valid_q  <= 1'b0;
      skid_valid_q <= 1'b0;
    end else if (out_free) begin
      // Output register refills from the skid register first (order), else from the input.
      if (skid_valid_q) begin
        out_valid_q  <= 1'b1;
        skid_valid_q <= 1'b0;
      end else begin
        out_valid_q <= in_fire;
      end
    end else if (in_fire) begin
      skid_valid_q <= 1'b1;
    end
  end

  always_ff @(posedge clk) begin
    if (out_free) begin
      if (skid_valid_q) begin
        out_data_q <= skid_data_q;
        out_last_q <= skid_last_q;
      end else if (in_fire) begin
        out_data_q <= s_axis_tdata;
        out_last_q <= s_axis_tlast;
      end
    end
    if (in_fire && !out_free) begin
      skid_data_q <= s_axis_tdata;
      skid_last_q <= s_axis_tlast;
    end
  end
endmodule
