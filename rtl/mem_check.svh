// mem_check.svh: simulation-time check of a $readmemh memory file (architecture.md, "Memory
// files"). Include it inside a module body, guarded so synthesis never sees it:
//
//   `ifndef SYNTHESIS
//   `include "mem_check.svh"
//   initial begin
//     mem_check("rom", INIT_FILE, DEPTH, WIDTH);   // before $readmemh
//     $readmemh(INIT_FILE, mem_q);
//   end
//   `endif
//
// mem_check stops the simulation with $fatal(1, ...) naming the file when
//   * the file cannot be opened:            "<who>: cannot open init file <file>"
//   * it does not hold exactly depth words: "<who>: <file> holds N words, expected DEPTH"
//   * a word is not plain hex:              "<who>: <file> word I '<tok>' is not a hex number"
//   * a word does not fit `width` bits:     "<who>: <file> word I '<tok>' is wider than W bits"
// so a memory never silently reads as zeros. Leading zeros are allowed. Verilator needs the
// rtl/ directory on its include path (-Irtl).

function automatic bit mem_check_is_hex(byte ch);
  return (ch >= "0" && ch <= "9") || (ch >= "a" && ch <= "f") || (ch >= "A" && ch <= "F");
endfunction

function automatic int mem_check_hex_val(byte ch);
  if (ch >= "0" && ch <= "9") return int'(ch) - int'("0");
  if (ch >= "a" && ch <= "f") return int'(ch) - int'("a") + 10;
  return int'(ch) - int'("A") + 10;
endfunction

// Number of significant bits of a hex token (0 for all zeros).
function automatic int mem_check_bits(string tok);
  int first;
  int lead;
  first = 0;
  while (first < tok.len() - 1 && tok[first] == "0") first++;
  lead = mem_check_hex_val(tok[first]);
  return 4 * (tok.len() - first - 1) + $clog2(lead + 1);
endfunction

function automatic void mem_check(string who, string file, int depth, int width);
  int    fd;
  int    n;
  string tok;
  fd = $fopen(file, "r");
  if (fd == 0) $fatal(1, "%s: cannot open init file %s", who, file);
  n = 0;
  while ($fscanf(fd, "%s", tok) == 1) begin
    for (int i = 0; i < tok.len(); i++) begin
      if (!mem_check_is_hex(tok[i])) begin
        $fclose(fd);
        $fatal(1, "%s: %s word %0d '%s' is not a hex number", who, file, n, tok);
      end
    end
    if (mem_check_bits(tok) > width) begin
      $fclose(fd);
      $fatal(1, "%s: %s word %0d '%s' is wider than %0d bits", who, file, n, tok, width);
    end
    n++;
  end
  $fclose(fd);
  if (n != depth) $fatal(1, "%s: %s holds %0d words, expected %0d", who, file, n, depth);
endfunction
