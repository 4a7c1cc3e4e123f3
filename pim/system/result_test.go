package system

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
)

func smallResult(t *testing.T) Result {
	t.Helper()
	model, _ := ModelByName("mistral-7b")
	res, err := Run(context.Background(), Config{Model: model, Lin: 2048, Lout: 5, Batch: 16, AttAccCompat: true})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestWriteCSV: AttAcc's column names in its order, and values that parse back
// to the same float64.
func TestWriteCSV(t *testing.T) {
	res := smallResult(t)
	var buf bytes.Buffer
	if err := res.WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil || len(recs) != 2 {
		t.Fatalf("%d records, %v", len(recs), err)
	}
	head, row := recs[0], recs[1]
	wantHead := "model,method,attacc_compat,Lin,Lout,bs,heads_per_stack,g_time (ms),g_matmul,g_fc,g_comm,g_etc,g_qkv_time,g_prj_time,g_ff_time,g2g_comm,c2g_comm,g_softmax,g_act,g_lnorm,g_energy (nJ),g_dram_energy,g_l2_energy,g_l1_energy,g_reg_energy,g_alu_energy,g_fc_mem_energy,g_fc_comp_energy,g_attn_mem_energy,g_attn_comp_energy,g_etc_mem_energy,g_etc_comp_energy,g_comm_energy,throughput"
	if got := strings.Join(head, ","); got != wantHead {
		t.Errorf("header\n%s\nwant\n%s", got, wantHead)
	}
	vals := res.Columns.Values()
	for i, name := range ColumnNames {
		v, err := strconv.ParseFloat(row[7+i], 64)
		if err != nil || v != vals[i] {
			t.Errorf("%s: %q parses to %g, %v; want %g", name, row[7+i], v, err, vals[i])
		}
	}
	if row[0] != "mistral-7b" || row[1] != "full" || row[3] != "2048" || row[4] != "5" || row[5] != "16" || row[6] != "13" {
		t.Errorf("config columns %v", row[:7])
	}
	var steps bytes.Buffer
	if err := res.WriteStepsCSV(context.Background(), &steps); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(steps.String(), "\n"); n != 1+4 {
		t.Errorf("steps CSV has %d lines, want header + 4", n)
	}
}

func TestWriteJSONRoundTrip(t *testing.T) {
	res := smallResult(t)
	for _, withSteps := range []bool{false, true} {
		var buf bytes.Buffer
		if err := res.WriteJSON(context.Background(), &buf, withSteps); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(buf.String(), `"g_time (ms)"`) || !strings.Contains(buf.String(), `"g_attn_mem_energy"`) {
			t.Errorf("JSON lacks AttAcc's column names:\n%s", buf.String()[:200])
		}
		var back struct {
			Result
			Steps []Step `json:"steps"`
		}
		if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
			t.Fatal(err)
		}
		if back.Columns != res.Columns || back.Throughput != res.Throughput {
			t.Errorf("round trip changed the columns")
		}
		if withSteps != (len(back.Steps) == 4) {
			t.Errorf("withSteps %v: %d steps", withSteps, len(back.Steps))
		}
	}
	if res.Throughput != 16/(res.Columns.Time/1000) {
		t.Errorf("throughput %g, want bs/g_time", res.Throughput)
	}
}
