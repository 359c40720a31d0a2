// The built-in English text: the corpus the sample tokenizer is trained on,
// the prompt source of the README's main job, and the default text of the
// end-to-end comparison in verify. Original prose, with deliberate case,
// accent, width and spacing variants so Engram's tokenizer compression and
// the byte-level pre-tokenizers have real work.
#include "ingot/common.h"

const char ingot_builtin_text[] =
    "The river ran past the old mill, and the miller counted the sacks of grain before the winter came. "
    "the river was cold. THE RIVER WAS LOUD. The River remembered every flood since the town was founded.\n"
    "A small café stood on the corner; the cafe sold bread, coffee and soup. Café owners rise early, "
    "and CAFÉ signs glow before dawn. Her résumé listed three cafés, two bakeries and one naïve poem.\n"
    "Numbers matter: 12 apples, 345 pears, 6789 plums and 1024 seeds were weighed on 2026-12-01 at 07:45.\n"
    "Ｆｕｌｌｗｉｄｔｈ letters look wide, but Fullwidth text means the same thing as fullwidth text.\n"
    "Engineers measure before they change anything; they measure again after, and they write the numbers down.\n"
    "A model that is converted must still compute what its source computed, or the conversion is wrong.\n"
    "Quantization shrinks weights to fewer bits. Fewer bits mean smaller files, faster loads and less memory, "
    "but every bit removed adds a little noise, so the noise must be measured and kept below a threshold.\n"
    "The mixture of experts sends each token to a few experts; the router picks them, and only they run.\n"
    "Memory tables remember short sequences of tokens. A table lookup costs the same for one row or a billion.\n"
    "In the morning the baker opened the shop. In the evening the baker closed the shop. The baker slept.\n"
    "  Indented lines\tuse tabs and  double  spaces; some lines end with spaces.   \n"
    "Questions? Answers! Lists: one, two, three. Quotes: \"hello\", 'world'. Paths: /usr/share/doc.\n"
    "Ångström, Zürich, São Paulo, Kraków, Malmö and Reykjavík are places with accents in their names.\n"
    "the quick brown fox jumps over the lazy dog. THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG.\n"
    "It's the model's file; they're sure it'll work, and we've checked what you'd expect.\n";
