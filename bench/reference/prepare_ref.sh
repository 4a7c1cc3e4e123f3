#!/usr/bin/env bash
# Copies the released STARC and Quest evaluation code out of their git
# snapshots into $REF (outside the repository) and makes the one change a
# CPU float32 run needs (README.md, "Changes to the released code").
#   STARC_GIT  git dir of EPIC-RPI/STARC   (commit 30d4ce9)
#   QUEST_GIT  git dir of mit-han-lab/Quest (commit 01c1623)
set -euo pipefail
STARC_GIT=${STARC_GIT:-/work/.mirror/EPIC-RPI+STARC/repo}
QUEST_GIT=${QUEST_GIT:-/work/.mirror/mit-han-lab+Quest/repo}
REF=${REF:-/work/peers/ref/run}
rm -rf "$REF" && mkdir -p "$REF/starc" "$REF/quest"
git --git-dir="$STARC_GIT" archive 30d4ce9 evaluation/__init__.py evaluation/llama.py evaluation/starc_attention.py evaluation/pg19/ppl_eval.py 2>/dev/null | tar -x -C "$REF/starc"
git --git-dir="$QUEST_GIT" archive 01c1623 evaluation/__init__.py evaluation/llama.py evaluation/quest_attention.py evaluation/pg19/ppl_eval.py 2>/dev/null | tar -x -C "$REF/quest"
for d in starc quest; do
	f="$REF/$d/evaluation/llama.py"
	# Change 1: the dense (prefill, layers 0-1) path casts float32 q/k/v to
	# float16 for FlashAttention-2, which has no float32 kernel. On the CPU the
	# flash_attn stand-in (flash_attn_cpu.py) computes in float32, so the cast
	# is skipped: the run stays float32 end to end, like starc.
	grep -q 'if input_dtype == torch.float32:' "$f"
	sed -i 's/if input_dtype == torch.float32:/if False and input_dtype == torch.float32:  # CPU run: keep float32/' "$f"
	# Change 2 (ppl_eval.py only, not used by ref_stream.py): device "cuda" -> "cpu".
	sed -i 's/^device = "cuda"/device = "cpu"/' "$REF/$d/evaluation/pg19/ppl_eval.py"
done
# Variant starc-stable (used where a run says so): change 3, the within-
# cluster order of the remapped copy made stable. The released
# `labels.argsort(dim=1)` is not stable, so the order of a cluster's tokens in
# the remapped copy, and with it which tokens of the boundary cluster are
# kept, is whatever the sort kernel does (CPU and CUDA differ); starc keeps
# ascending position (starc.md §1.4 Step 1 (*)).
rm -rf "$REF/starc-stable" && cp -r "$REF/starc" "$REF/starc-stable"
f="$REF/starc-stable/evaluation/starc_attention.py"
test "$(grep -c 'sorted_idx = labels.argsort(dim=1)$' "$f")" = 1
sed -i 's/sorted_idx = labels.argsort(dim=1)$/sorted_idx = labels.argsort(dim=1, stable=True)  # stable: ascending position within a cluster/' "$f"
for f in starc/evaluation/starc_attention.py quest/evaluation/quest_attention.py; do test -s "$REF/$f"; done
echo "released code in $REF/{starc,starc-stable,quest}/evaluation"
