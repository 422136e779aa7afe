// cnn_engine: the streaming CNN engine, AXI4-Stream in and out.
//
//   s_axis (IN_PIX 8-bit pixels per beat, raster order, pixel p of a beat in byte p; TKEEP
//           one bit per byte; TLAST on the frame's last beat, IN_PIXELS/IN_PIX)
//     -> frame_sanitizer  exactly IN_PIXELS/IN_PIX full beats per frame, one error flag per
//                         frame (short, long, or a null byte: TKEEP low, computed as zero)
//     -> cnn_layers       the network (generated netlist, weights/<net>/cnn_layers.sv)
//     -> result_formatter N_CLASSES int32 logits, then the class, TLAST on the last beat
//   m_axis (32-bit beats; TUSER[0] = the input frame was malformed)
//
// Exactly one result frame leaves per input frame, in order, whatever the input's TLAST
// did, and the output may stall for any time without loss. The network itself comes only
// from the generated package cnn_cfg_pkg and the memory files in WEIGHTS_DIR.
//
// Status (for a CPU or a logic analyser): frames_in counts input frames ended, frames_out
// result frames sent, error_frames malformed frames; error_sticky stays set after the first
// malformed frame until reset.
//
// Reset (synchronous): s_axis_tready is low while rst is high; m_axis_tvalid is low from the
// first reset edge. A result frame being sent then is cut short (no TLAST): the downstream
// shares rst and drops its partial frame (docs/engine.md, "Reset").
//
// Run-time weights: a configuration with a `+wload` layer (model/nets.py, e.g. fc1 of tiny's
// `up5k` folding, whose weights sit in iCE40 SPRAM, which a bitstream cannot initialise)
// takes that layer's weight words on s_wload_axis: one frame of cnn_cfg_pkg::WLOAD_WORDS
// beats in the order of its .mem file, TLAST on the last. Until a complete frame has
// arrived, weights_valid is low and images wait (nothing is lost); a frame of the wrong
// length counts in weight_load_errors and must be sent again. After reset, load again.
// Without such a layer s_wload_axis_tready stays low and weights_valid is high.
module cnn_engine #(
  parameter WEIGHTS_DIR = "weights/tiny",  // folder of the $readmemh files
  parameter int FLAG_FIFO_DEPTH = 8        // frames in flight between input and output
) (
  input  logic        clk,
  input  logic        rst,
  input  logic [cnn_cfg_pkg::IN_PIX*8-1:0] s_axis_tdata,
  input  logic [cnn_cfg_pkg::IN_PIX-1:0]   s_axis_tkeep,
  input  logic        s_axis_tlast,
  input  logic        s_axis_tvalid,
  output logic        s_axis_tready,
  output logic [31:0] m_axis_tdata,
  output logic        m_axis_tlast,
  output logic [0:0]  m_axis_tuser,
  output logic        m_axis_tvalid,
  input  logic        m_axis_tready,
  output logic [31:0] frames_in,
  output logic [31:0] frames_out,
  output logic [31:0] error_frames,
  output logic        error_sticky,
  input  logic [cnn_cfg_pkg::WLOAD_W-1:0] s_wload_axis_tdata,
  input  logic        s_wload_axis_tlast,
  input  logic        s_wload_axis_tvalid,
  output logic        s_wload_axis_tready,
  output logic        weights_valid,
  output logic [31:0] weight_load_errors
);
  localparam int LOGITS_W = cnn_cfg_pkg::OUT_LANES * cnn_cfg_pkg::ACC_W;  // one beat of the logits stream

  // Pixels, sanitized.
  logic [cnn_cfg_pkg::IN_PIX*8-1:0] pix_tdata;
  logic       pix_tlast, pix_tvalid, pix_tready;
  // One malformed-frame flag per frame, before and after the FIFO that carries it past the
  // frames in flight in the layers.
  logic       flag_tdata, flag_tvalid, flag_tready;
  logic       flag_q_tdata, flag_q_tvalid, flag_q_tready;
  logic       flag_q_tlast_unused;
  logic       w_load_error;
  // The logits: all N_CLASSES in one beat, or (a serial last layer) OUT_LANES per beat.
  logic [LOGITS_W-1:0] logits_tdata;
  logic                logits_tlast, logits_tvalid, logits_tready;
  // The formatter keeps LOGIT_W bits of each logit: a last layer with narrow accumulators
  // (fc_unit SUM_W) sends LOGIT_W-bit values sign-extended to ACC_W, so the upper bits are
  // copies of the sign and a 32-bit copy of every logit would only cost flip-flops.
  localparam int LOGIT_W = cnn_cfg_pkg::LOGIT_W;
  logic [cnn_cfg_pkg::OUT_LANES*LOGIT_W-1:0] logits_narrow;
  for (genvar k = 0; k < cnn_cfg_pkg::OUT_LANES; k++) begin : g_logit
    assign logits_narrow[k*LOGIT_W +: LOGIT_W] = logits_tdata[k*cnn_cfg_pkg::ACC_W +: LOGIT_W];
    if (LOGIT_W < cnn_cfg_pkg::ACC_W) begin : g_sign_copies
      logic unused_hi;
      assign unused_hi = ^logits_tdata[k*cnn_cfg_pkg::ACC_W + LOGIT_W +: cnn_cfg_pkg::ACC_W - LOGIT_W];
    end
  end

  frame_sanitizer #(
    .N_BEATS(cnn_cfg_pkg::IN_PIXELS / cnn_cfg_pkg::IN_PIX),
    .DATA_W (cnn_cfg_pkg::IN_PIX * 8),
    .LANES  (cnn_cfg_pkg::IN_PIX)
  ) u_sanitizer (
    .clk, .rst,
    .s_axis_tdata, .s_axis_tkeep, .s_axis_tlast, .s_axis_tvalid, .s_axis_tready,
    .m_axis_tdata(pix_tdata), .m_axis_tlast(pix_tlast),
    .m_axis_tvalid(pix_tvalid), .m_axis_tready(pix_tready),
    .m_flag_tdata(flag_tdata), .m_flag_tvalid(flag_tvalid), .m_flag_tready(flag_tready)
  );

  axis_fifo #(
    .DATA_W(1),
    .DEPTH (FLAG_FIFO_DEPTH)
  ) u_flag_fifo (
    .clk, .rst,
    .s_axis_tdata(flag_tdata), .s_axis_tlast(1'b1),
    .s_axis_tvalid(flag_tvalid), .s_axis_tready(flag_tready),
    .m_axis_tdata(flag_q_tdata), .m_axis_tlast(flag_q_tlast_unused),
    .m_axis_tvalid(flag_q_tvalid), .m_axis_tready(flag_q_tready)
  );

  cnn_layers #(
    .WEIGHTS_DIR(WEIGHTS_DIR)
  ) u_layers (
    .clk, .rst,
    .s_axis_tdata(pix_tdata), .s_axis_tlast(pix_tlast),
    .s_axis_tvalid(pix_tvalid), .s_axis_tready(pix_tready),
    .m_axis_tdata(logits_tdata), .m_axis_tlast(logits_tlast),
    .m_axis_tvalid(logits_tvalid), .m_axis_tready(logits_tready),
    .s_wload_axis_tdata, .s_wload_axis_tlast, .s_wload_axis_tvalid, .s_wload_axis_tready,
    .w_valid(weights_valid), .w_load_error
  );

  result_formatter #(
    .N_CLASSES(cnn_cfg_pkg::N_CLASSES),
    .ACC_W    (LOGIT_W),
    .IN_LANES (cnn_cfg_pkg::OUT_LANES)
  ) u_formatter (
    .clk, .rst,
    .s_axis_tdata(logits_narrow), .s_axis_tlast(logits_tlast),
    .s_axis_tvalid(logits_tvalid), .s_axis_tready(logits_tready),
    .s_flag_tdata(flag_q_tdata), .s_flag_tvalid(flag_q_tvalid), .s_flag_tready(flag_q_tready),
    .m_axis_tdata, .m_axis_tlast, .m_axis_tuser, .m_axis_tvalid, .m_axis_tready
  );

  // Status counters.
  always_ff @(posedge clk) begin
    if (rst) begin
      frames_in    <= '0;
      frames_out   <= '0;
      error_frames <= '0;
      error_sticky <= 1'b0;
      weight_load_errors <= '0;
    end else begin
      if (w_load_error) weight_load_errors <= weight_load_errors + 1'b1;
      if (flag_tvalid && flag_tready) begin
        frames_in <= frames_in + 1'b1;
        if (flag_tdata) begin
          error_frames <= error_frames + 1'b1;
          error_sticky <= 1'b1;
        end
      end
      if (m_axis_tvalid && m_axis_tready && m_axis_tlast) frames_out <= frames_out + 1'b1;
    end
  end
endmodule
