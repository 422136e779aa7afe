// engine_bulk: cnn_engine driven from memories, so that image regressions run at simulator
// speed with cocotb still in charge (tb/engine/bulk.py).
//
// Per batch, cocotb writes the frames to a file, sets the batch ports and raises `start`;
// everything that happens per clock cycle happens here: the clock, reset, the run-time weight
// frame (if the export has one), the AXI-Stream source with LFSR-driven TVALID gaps, the sink
// with LFSR-driven TREADY stalls, and the capture of every result beat with the cycle it left.
// At the end the harness writes what it captured to files and raises `done`: Python wakes once
// per batch instead of twice per clock.
//
// Files (plusargs, fixed for the run):
//   +BULK_IN=<path>     the batch: n_frames * IN_PIXELS bytes, raw, frame after frame
//   +BULK_OUT=<prefix>  written at the end: <prefix>.beats (per result beat: TUSER, TLAST,
//                       TDATA, as 1+1+32 bits hex), <prefix>.ends (cycle of each TLAST beat),
//                       <prefix>.starts (cycle of each input frame's first beat)
//   +BULK_WLOAD=<path>  optional: the run-time weight words ($readmemh), sent after reset
//
// A batch ends when all n_frames result frames have left and `drain` more cycles passed with
// the output ready (an extra beat then is captured and reported), or when `watchdog` cycles
// pass with no handshake on either side (a deadlock or a lost frame): status says which, and
// frames_done / cycle say where. The simulation never hangs on a stuck engine.
module engine_bulk #(
  parameter WEIGHTS_DIR = "weights/tiny",
  parameter int MAX_FRAMES = 10000
) (
  input  logic        start       /*verilator public_flat_rw*/,  // high: run a batch
  input  logic [31:0] n_frames    /*verilator public_flat_rw*/,
  input  logic [7:0]  in_gap      /*verilator public_flat_rw*/,  // P(no TVALID) = in_gap/256 per cycle
  input  logic [7:0]  out_stall   /*verilator public_flat_rw*/,  // P(no TREADY) = out_stall/256
  input  logic [31:0] seed        /*verilator public_flat_rw*/,
  input  logic [31:0] watchdog    /*verilator public_flat_rw*/,  // cycles without any handshake
  input  logic [31:0] drain       /*verilator public_flat_rw*/,  // cycles watched after the last frame
  output logic        done        /*verilator public_flat_rw*/,
  output logic [1:0]  status      /*verilator public_flat_rw*/,  // 0 finished, 1 stuck, 2 output overflow
  output logic [31:0] frames_done /*verilator public_flat_rw*/,  // result frames (TLAST beats) seen
  output logic [31:0] beats_done  /*verilator public_flat_rw*/,
  output logic [31:0] cycle       /*verilator public_flat_rw*/,
  output logic [31:0] errors_seen /*verilator public_flat_rw*/   // the engine's error_frames counter
);
  localparam int PIXELS = cnn_cfg_pkg::IN_PIXELS;
  localparam int PIX = cnn_cfg_pkg::IN_PIX;   // pixels per input beat
  localparam int FRAME_BEATS = PIXELS / PIX;
  localparam int BEATS_PER_FRAME = cnn_cfg_pkg::N_CLASSES + 1;
  localparam int MAX_BEATS = MAX_FRAMES * BEATS_PER_FRAME + 64;  // room to capture a few extra
  localparam int WLOAD_WORDS = cnn_cfg_pkg::WLOAD_WORDS > 0 ? cnn_cfg_pkg::WLOAD_WORDS : 1;

  logic clk;
  initial begin
    clk = 1'b0;
    forever #5 clk = ~clk;
  end

  logic [7:0]  img_mem   [MAX_FRAMES * PIXELS];
  logic [33:0] beat_mem  [MAX_BEATS];  // {tuser, tlast, tdata}
  logic [31:0] end_mem   [MAX_FRAMES + 64];
  logic [31:0] start_mem [MAX_FRAMES];
  logic [cnn_cfg_pkg::WLOAD_W-1:0] wload_mem [WLOAD_WORDS];

  string in_file, out_prefix, wload_file;
  bit    has_wload;
  initial begin
    if (!$value$plusargs("BULK_IN=%s", in_file)) $fatal(1, "engine_bulk: +BULK_IN=<file> missing");
    if (!$value$plusargs("BULK_OUT=%s", out_prefix)) $fatal(1, "engine_bulk: +BULK_OUT=<prefix> missing");
    has_wload = $value$plusargs("BULK_WLOAD=%s", wload_file) != 0;
    if (has_wload != (cnn_cfg_pkg::WLOAD_WORDS > 0))
      $fatal(1, "engine_bulk: +BULK_WLOAD given for an export without run-time weights, or missing");
  end

  // ---- the engine ---------------------------------------------------------------------------
  logic        rst;
  logic [PIX*8-1:0] s_tdata;
  logic        s_tlast, s_tvalid, s_tready, s_first;
  logic [31:0] m_tdata;
  logic        m_tlast, m_tvalid, m_tready;
  logic [0:0]  m_tuser;
  logic [31:0] error_frames;
  logic        weights_valid;
  /* verilator lint_off UNUSEDSIGNAL */  // status the harness does not check (the protocol tests do)
  logic [31:0] frames_in, frames_out, weight_load_errors;
  logic        error_sticky;
  /* verilator lint_on UNUSEDSIGNAL */
  logic [cnn_cfg_pkg::WLOAD_W-1:0] w_tdata;
  logic        w_tlast, w_tvalid, w_tready;

  cnn_engine #(.WEIGHTS_DIR(WEIGHTS_DIR)) u_engine (
    .clk, .rst,
    .s_axis_tdata(s_tdata), .s_axis_tkeep({PIX{1'b1}}), .s_axis_tlast(s_tlast), .s_axis_tvalid(s_tvalid), .s_axis_tready(s_tready),
    .m_axis_tdata(m_tdata), .m_axis_tlast(m_tlast), .m_axis_tuser(m_tuser),
    .m_axis_tvalid(m_tvalid), .m_axis_tready(m_tready),
    .frames_in, .frames_out, .error_frames, .error_sticky,
    .s_wload_axis_tdata(w_tdata), .s_wload_axis_tlast(w_tlast),
    .s_wload_axis_tvalid(w_tvalid), .s_wload_axis_tready(w_tready),
    .weights_valid, .weight_load_errors
  );
  assign errors_seen = error_frames;

  // ---- batch control ------------------------------------------------------------------------
  typedef enum logic [2:0] {IDLE, RESET, WLOAD, RUN, DRAIN, DONE} phase_t;
  phase_t      phase;
  logic [31:0] total_beats;    // input beats of the batch
  logic [31:0] next_beat;      // next input beat to present
  logic [31:0] pixel;          // position of next_beat in its frame (in beats)
  logic [31:0] frames_started;
  logic [31:0] idle_cycles, phase_cycles, w_idx;
  logic [31:0] rnd_in, rnd_out;  // xorshift32 stall generators, one per side

  function automatic logic [31:0] xorshift32(logic [31:0] x);
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return x;
  endfunction

  // Load the batch when `start` rises (a task: $fread needs a procedural context).
  task automatic load_batch();
    int fd, got;
    if (n_frames == 0 || n_frames > MAX_FRAMES)
      $fatal(1, "engine_bulk: n_frames %0d outside 1..%0d", n_frames, MAX_FRAMES);
    fd = $fopen(in_file, "rb");
    if (fd == 0) $fatal(1, "engine_bulk: cannot open %s", in_file);
    got = $fread(img_mem, fd, 0, n_frames * PIXELS);
    $fclose(fd);
    if (got != n_frames * PIXELS)
      $fatal(1, "engine_bulk: %s holds %0d bytes, expected %0d", in_file, got, n_frames * PIXELS);
    if (has_wload) $readmemh(wload_file, wload_mem);
  endtask

  task automatic write_results();
    if (beats_done > 0) $writememh({out_prefix, ".beats"}, beat_mem, 0, beats_done - 1);
    if (frames_done > 0) $writememh({out_prefix, ".ends"}, end_mem, 0, frames_done - 1);
    if (frames_started > 0) $writememh({out_prefix, ".starts"}, start_mem, 0, frames_started - 1);
  endtask

  wire in_hs  = s_tvalid && s_tready;
  wire out_hs = m_tvalid && m_tready;

  always @(posedge clk) begin
    rnd_in  <= xorshift32(rnd_in);
    rnd_out <= xorshift32(rnd_out);
    cycle   <= cycle + 1;
    phase_cycles <= phase_cycles + 1;
    case (phase)
      IDLE: begin
        done <= 1'b0;
        rst  <= 1'b1;
        if (start) begin
          load_batch();
          total_beats <= n_frames * FRAME_BEATS;
          next_beat <= 0;
          pixel <= 0;
          frames_started <= 0;
          frames_done <= 0;
          beats_done <= 0;
          status <= 2'd0;
          idle_cycles <= 0;
          phase_cycles <= 0;
          cycle <= 0;
          w_idx <= 0;
          rnd_in  <= seed | 32'h1;                // xorshift must not start at 0
          rnd_out <= (seed ^ 32'h9e3779b9) | 32'h1;
          phase <= RESET;
        end
      end
      RESET: if (phase_cycles == 8) begin
        rst <= 1'b0;
        phase_cycles <= 0;
        phase <= has_wload ? WLOAD : RUN;
      end
      WLOAD: begin  // the weight frame, no gaps; then wait for the engine to accept it
        if (w_tvalid && w_tready) w_idx <= w_idx + 1;
        if (!w_tvalid && w_idx == WLOAD_WORDS && weights_valid) phase <= RUN;
        if (phase_cycles == watchdog) begin
          status <= 2'd1;
          phase <= DONE;
        end
      end
      RUN, DRAIN: begin
        idle_cycles <= (in_hs || out_hs) ? 0 : idle_cycles + 1;
        if (in_hs && s_first) begin
          start_mem[frames_started] <= cycle;
          frames_started <= frames_started + 1;
        end
        if (out_hs) begin
          if (beats_done < MAX_BEATS) beat_mem[beats_done] <= {m_tuser, m_tlast, m_tdata};
          beats_done <= beats_done + 1;
          if (m_tlast) begin
            if (frames_done < MAX_FRAMES + 64) end_mem[frames_done] <= cycle;
            frames_done <= frames_done + 1;
          end
        end
        if (phase == RUN && frames_done == n_frames) begin
          phase <= DRAIN;
          phase_cycles <= 0;
        end
        if (phase == DRAIN && phase_cycles == drain) phase <= DONE;
        if (idle_cycles == watchdog) begin
          status <= 2'd1;
          phase <= DONE;
        end
        if (beats_done >= MAX_BEATS) begin
          status <= 2'd2;
          phase <= DONE;
        end
      end
      DONE: begin
        if (!done) write_results();
        done <= 1'b1;
        if (!start) phase <= IDLE;
      end
      default: phase <= IDLE;
    endcase
  end

  // ---- AXI-Stream source: once TVALID is up it stays up, payload unchanged, until taken -----
  always @(posedge clk) begin
    if (rst || phase != RUN) begin
      s_tvalid <= 1'b0;
      if (phase == IDLE) begin
        s_tdata <= '0;
        s_tlast <= 1'b0;
        s_first <= 1'b0;
      end
    end else if (!s_tvalid || s_tready) begin
      if (next_beat < total_beats && rnd_in[7:0] >= in_gap) begin
        s_tvalid  <= 1'b1;
        for (int p = 0; p < PIX; p++) s_tdata[p*8 +: 8] <= img_mem[next_beat*PIX + p];
        s_first   <= pixel == 0;
        s_tlast   <= pixel == FRAME_BEATS - 1;
        next_beat <= next_beat + 1;
        pixel     <= (pixel == FRAME_BEATS - 1) ? 0 : pixel + 1;
      end else begin
        s_tvalid <= 1'b0;
      end
    end
  end

  // The sink may drop TREADY any cycle (AXI-Stream allows it); during the drain it stays up.
  assign m_tready = (phase == DRAIN) || (phase == RUN && rnd_out[15:8] >= out_stall);

  // Run-time weights: one frame, word after word.
  always @(posedge clk) begin
    if (phase != WLOAD || rst) begin
      w_tvalid <= 1'b0;
      w_tdata  <= '0;
      w_tlast  <= 1'b0;
    end else if (!w_tvalid || w_tready) begin
      if (w_idx + (w_tvalid ? 1 : 0) < WLOAD_WORDS) begin
        w_tvalid <= 1'b1;
        w_tdata  <= wload_mem[w_idx + (w_tvalid ? 1 : 0)];
        w_tlast  <= w_idx + (w_tvalid ? 1 : 0) == WLOAD_WORDS - 1;
      end else begin
        w_tvalid <= 1'b0;
      end
    end
  end

  initial begin
    phase = IDLE;
    done = 1'b0;
    rst = 1'b1;
    cycle = 0;
    phase_cycles = 0;
    status = 2'd0;
    frames_done = 0;
    beats_done = 0;
    frames_started = 0;
    rnd_in = 32'h1;
    rnd_out = 32'h2;
  end
endmodule
