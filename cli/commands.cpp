#include "cli/commands.h"

namespace mm::cli {

const std::vector<Command>& commands() {
  static const std::vector<Command> table = {
      {"init",
       "usage: minimax01 init --preset NAME --out DIR [--seed S] [--dtype bf16|f16|f32] [--spelling official|hf]\n"
       "                      [--max-shard-mb N]\n"
       "Writes DIR/config.json and DIR/model.safetensors (or shards + model.safetensors.index.json)\n"
       "with seeded synthetic weights. Presets: tiny, small (minimax-text-01 is refused: 912 GB).\n",
       cmd_init},
      {"info",
       "usage: minimax01 info (--model DIR | --preset NAME)\n"
       "Prints the layer pattern, parameter counts and the memory plan without loading weights.\n",
       cmd_info},
      {"forward",
       "usage: minimax01 forward --model DIR --tokens 1,2,3 [--decode-tokens 4,5]\n"
       "                         [--backend ref-f64|ref-f32|ref-bf16] [--dump OUT.safetensors]\n"
       "Runs the prompt as one prefill, then feeds each decode token through the decode path.\n"
       "The dump holds F32 tensors: logits [S, V] (every prompt position), hidden_states [L, S, H]\n"
       "(the tensor leaving each decoder layer) and decode_logits [N, V]. Default backend: ref-f32.\n",
       cmd_forward},
      {"generate",
       "usage: minimax01 generate --model DIR --prompt-tokens 1,2,3 --max-new-tokens N\n"
       "                          [--temperature T] [--top-k K] [--top-p P] [--seed S] [--backend B]\n"
       "Greedy when the temperature is 0 (default). Prints the new token ids and tokens/s.\n",
       cmd_generate},
  };
  return table;
}

}  // namespace mm::cli
