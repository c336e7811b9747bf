package clinic

import (
	"errors"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
)

// triageFiles are the real word lists, rooted like the embedded folder.
var triageFiles = os.DirFS("../../embed")

func loadTestTriage(t testing.TB, extra []string) *Triage {
	t.Helper()
	tr, err := LoadTriage(triageFiles, extra)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestTriageEveryCategoryBothLanguages(t *testing.T) {
	tr := loadTestTriage(t, nil)
	examples := map[string][2]string{ // category: English, Spanish
		"chest_pain":          {"I have crushing chest pain since this morning", "Tengo dolor de pecho desde la mañana"},
		"breathing":           {"My daughter can't breathe", "Mi hijo no puede respirar bien"},
		"stroke":              {"Dad's face drooping and slurred speech", "Mi mamá tiene la cara caída y habla arrastrada"},
		"suicide":             {"I want to die, nothing helps", "Ya no aguanto, quiero morir"},
		"bleeding":            {"The cut won't stop bleeding", "La herida no para de sangrar"},
		"overdose":            {"My son took too many pills", "Creo que es una sobredosis"},
		"allergic_reaction":   {"After the shot my throat is closing", "Se me cierra la garganta después de la inyección"},
		"unconscious":         {"My husband passed out and won't wake up", "Mi abuela se desmayó"},
		"seizure":             {"He is having a seizure right now", "Mi hija está convulsionando"},
		"pregnancy_emergency": {"I'm 30 weeks and my water broke", "Estoy embarazada y sangrando"},
		"severe_pain":         {"Worst headache of my life", "Tengo un dolor insoportable en el estómago"},
	}
	if len(examples) != len(TriageCategories) {
		t.Fatalf("examples cover %d categories, there are %d", len(examples), len(TriageCategories))
	}
	for cat, ex := range examples {
		for i, text := range ex {
			urgent, cats := tr.Match(text)
			if !urgent || !slices.Contains(cats, cat) {
				t.Errorf("%s [%s] %q: got %v %v", cat, []string{"en", "es"}[i], text, urgent, cats)
			}
		}
	}
}

func TestTriageOrdinaryMessages(t *testing.T) {
	tr := loadTestTriage(t, nil)
	// Everyday messages must not raise an alarm. Decisions worth noting:
	//   - "dying to know" is an idiom, and there is no bare "dying" phrase.
	//   - bare "pain", "bleeding", "stroke", "seizure", "allergic" are not
	//     phrases: refills for seizure medication, a past stroke, allergy
	//     pills and bleeding gums are routine.
	//   - "not responding" / "no responde" are left out: they are how
	//     people describe the website or an unanswered phone.
	ordinary := []string{
		"Can I get a refill of my lisinopril please?",
		"I need a refill on my seizure medication (Keppra), pharmacy is CVS on Main St.",
		"I'd like to reschedule my appointment to next Tuesday afternoon.",
		"My back pain is better since the physical therapy, thanks!",
		"I was painting the kitchen and got paint on my glasses, lol.",
		"I'm dying to know my results, are they back yet?",
		"My gums were bleeding a little when I brush, should I see a dentist?",
		"I had a stroke in 2019 and need my yearly blood work ordered.",
		"Please send my records to Dr. Lee's office.",
		"Question about my bill from March, I think I was charged twice.",
		"Can the nurse call me back about my blood pressure readings?",
		"Refill for my allergy pills (loratadine) please.",
		"The website is not responding when I try to pay.",
		"Necesito una receta de mi medicina para la presión.",
		"Quiero cambiar mi cita para el viernes por la mañana.",
		"Tengo dolor de espalda leve, ¿puedo tomar ibuprofeno?",
		"No puedo hablar bien inglés, ¿hay alguien que hable español?",
		"El doctor no responde mis mensajes sobre los resultados.",
		"Necesito más pastillas para las convulsiones, se me acabaron.",
		"Estoy tomando demasiadas pastillas, ¿podemos revisar la lista?",
		"I hurt myself playing soccer last week, can I get an appointment for my ankle?",
		"Rash on one side of my body for a few days, not itchy.",
	}
	for _, text := range ordinary {
		if urgent, cats := tr.Match(text); urgent || cats != nil {
			t.Errorf("%q matched %v", text, cats)
		}
	}
}

func TestTriageNormalisation(t *testing.T) {
	tr := loadTestTriage(t, nil)
	cases := []struct {
		text string
		want []string
	}{
		{"no puedo respirar", []string{"breathing"}},
		{"NO PUEDO RESPIRÁR", []string{"breathing"}},
		{"No-puedo... respirar!!!", []string{"breathing"}},
		{"me falta   el\taire", []string{"breathing"}},
		{"tengo una convulsion", nil}, // not a phrase: "tiene/tuvo/tuve una convulsión"
		{"Tuvo una CONVULSION", []string{"seizure"}},
		{"tuvo una convulsión", []string{"seizure"}},
		{"tuvo una convulsio\u0301n", []string{"seizure"}}, // decomposed accent
		{"I can't breathe", []string{"breathing"}},
		{"I can’t breathe", []string{"breathing"}},
		{"I cant breathe", []string{"breathing"}},
		{"i cant breath", []string{"breathing"}},
		{"I can´t breathe", []string{"breathing"}},
		{"CHEST-PAIN", []string{"chest_pain"}},
		{"my chest... pain", []string{"chest_pain"}}, // punctuation is a space
		{"chest and back pain", nil},                 // phrases are consecutive words
		{"chestpain", nil},
		{"painting", nil},
		{"overdosed", []string{"overdose"}},
		{"overdoses", nil},                     // whole words only
		{"ｃｈｅｓｔ ｐａｉｎ", []string{"chest_pain"}}, // full-width letters
		{"Pain is 10/10 and I can't breathe; chest pain too.", []string{"breathing", "chest_pain", "severe_pain"}},
		{"chest pain, chest pain, CHEST PAIN", []string{"chest_pain"}},
		{"", nil},
		{"   \n\t ", nil},
	}
	for _, c := range cases {
		urgent, cats := tr.Match(c.text)
		if urgent != (c.want != nil) || !slices.Equal(cats, c.want) {
			t.Errorf("Match(%q) = %v %v, want %v", c.text, urgent, cats, c.want)
		}
	}
}

func TestTriageFoldText(t *testing.T) {
	cases := map[string]string{
		"":                      " ",
		"Hello, World!":         " hello world ",
		"Niño  ÁÉÍÓÚ ü":         " nino aeiou u ",
		"can't can’t cant":      " cant cant cant ",
		"10/10":                 " 10 10 ",
		"  --leading/trailing ": " leading trailing ",
		"Straße":                " straße ",
	}
	for in, want := range cases {
		if got := foldText(in); got != want {
			t.Errorf("foldText(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTriageExtraPhrases(t *testing.T) {
	tr := loadTestTriage(t, []string{
		"",
		"# a comment",
		"  chest_pain: dolor en el corazón  ",
		"bleeding: nosebleed for an hour",
		"sting from a bee",         // no category: custom
		"severe_pain: dor intensa", // Portuguese
	})
	cases := []struct {
		text string
		want []string
	}{
		{"Tengo DOLOR en el corazon", []string{"chest_pain"}},
		{"nosebleed for an hour now", []string{"bleeding"}},
		{"A sting from a bee, my arm is red", []string{TriageCustom}},
		{"Estou com dor intensa", []string{"severe_pain"}},
		{"chest pain", []string{"chest_pain"}}, // the built-in lists are still there
	}
	for _, c := range cases {
		if urgent, cats := tr.Match(c.text); !urgent || !slices.Equal(cats, c.want) {
			t.Errorf("Match(%q) = %v %v, want %v", c.text, urgent, cats, c.want)
		}
	}
	// Without the extras they do not match.
	if urgent, _ := loadTestTriage(t, nil).Match("sting from a bee"); urgent {
		t.Error("extra phrase leaked into another Triage")
	}

	for _, bad := range [][]string{
		{"chset_pain: typo in the category"},
		{"dolor: fuerte"},
		{"!!!"},
		{"chest_pain:   "},
		{strings.Repeat("a ", 200)},
	} {
		_, err := LoadTriage(triageFiles, bad)
		var ie *InputError
		if !errors.As(err, &ie) || ie.Field != "urgent_words" {
			t.Errorf("extra %q: err %v, want an InputError for urgent_words", bad, err)
		}
	}
}

func TestTriageMalformedFile(t *testing.T) {
	good := &fstest.MapFile{Data: []byte("# ok\nchest_pain: chest pain\n")}
	cases := []struct {
		name, data, want string
	}{
		{"no colon", "# comment\n\nchest_pain: chest pain\nbreathing can't breathe\n", "x.txt line 4"},
		{"unknown category", "chest_pain: chest pain\nheadache: bad headache\n", "x.txt line 2"},
		{"empty phrase", "\n\nstroke:   \n", "x.txt line 3"},
		{"punctuation only", "stroke: ?!\n", "x.txt line 1"},
		{"empty category", ": chest pain\n", "x.txt line 1"},
		{"bad utf-8", "stroke: face \xff drooping\n", "x.txt line 1"},
	}
	for _, c := range cases {
		files := fstest.MapFS{"triage/a.txt": good, "triage/x.txt": {Data: []byte(c.data)}}
		_, err := LoadTriage(files, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want one naming %q", c.name, err, c.want)
		}
	}
	// No lists at all is an error too: triage must not silently switch off.
	if _, err := LoadTriage(fstest.MapFS{"other/en.txt": good}, nil); err == nil {
		t.Error("no error without triage lists")
	}
	// CRLF line ends, a byte-order mark and other files are fine.
	files := fstest.MapFS{
		"triage/en.txt":    {Data: []byte("\uFEFF# lists\r\nchest_pain: chest pain\r\n\r\nbreathing: can't breathe\r\n")},
		"triage/README.md": {Data: []byte("not a list")},
	}
	tr, err := LoadTriage(files, nil)
	if err != nil {
		t.Fatal(err)
	}
	if urgent, cats := tr.Match("Chest pain and I can't breathe"); !urgent || !slices.Equal(cats, []string{"breathing", "chest_pain"}) {
		t.Fatalf("CRLF file: %v %v", urgent, cats)
	}
}

// Every line of the shipped lists is well formed and can match itself.
func TestTriageShippedLists(t *testing.T) {
	tr := loadTestTriage(t, nil)
	for _, name := range []string{"triage/en.txt", "triage/es.txt"} {
		b, err := os.ReadFile("../../embed/" + name)
		if err != nil {
			t.Fatal(err)
		}
		n, perCat := 0, map[string]int{}
		for _, line := range strings.Split(string(b), "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			cat, phrase, _ := strings.Cut(line, ":")
			n++
			perCat[cat]++
			if urgent, cats := tr.Match("Hello, " + phrase + ". Please help."); !urgent || !slices.Contains(cats, cat) {
				t.Errorf("%s: %q does not match itself (%v)", name, line, cats)
			}
		}
		for _, c := range TriageCategories {
			if perCat[c] == 0 {
				t.Errorf("%s has no phrases for %s", name, c)
			}
		}
		t.Logf("%s: %d phrases", name, n)
	}
}

func TestTriageZeroAndConcurrent(t *testing.T) {
	var zero *Triage
	if urgent, cats := zero.Match("chest pain"); urgent || cats != nil {
		t.Fatal("nil Triage matched")
	}
	if urgent, _ := (&Triage{}).Match("chest pain"); urgent {
		t.Fatal("zero Triage matched")
	}
	tr := loadTestTriage(t, nil)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Go(func() {
			for j := 0; j < 200; j++ {
				if urgent, cats := tr.Match("no puedo respirar y dolor de pecho"); !urgent || len(cats) != 2 {
					t.Errorf("concurrent Match: %v %v", urgent, cats)
					return
				}
			}
		})
	}
	wg.Wait()
}

func triageBenchText() string {
	var b strings.Builder
	for b.Len() < 2000 {
		b.WriteString("Hello, I need a refill of my metformin and lisinopril; the pharmacy on Main Street said they never got it. Also, ¿pueden cambiar mi cita? ")
	}
	return b.String()[:2000]
}

// TestTriageFast is one of the two tests `go test -short` leaves out
// (README): a speed check, with a margin of about 30 times on an idle PC.
func TestTriageFast(t *testing.T) {
	if testing.Short() {
		t.Skip("timing test")
	}
	tr := loadTestTriage(t, nil)
	text := triageBenchText()
	res := testing.Benchmark(func(b *testing.B) {
		for b.Loop() {
			tr.Match(text)
		}
	})
	if per := res.NsPerOp(); per > 1_000_000 {
		t.Fatalf("Match of 2,000 characters takes %d ns", per)
	}
}

func BenchmarkTriageMatch(b *testing.B) {
	tr := loadTestTriage(b, nil)
	text := triageBenchText()
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		tr.Match(text)
	}
}

func BenchmarkTriageMatchAccented(b *testing.B) {
	tr := loadTestTriage(b, nil)
	text := strings.Repeat("Tengo dolor de cabeza, náuseas y mucho cansancio desde ayer. ", 40)[:2000]
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		tr.Match(text)
	}
}

// The first-word index finds exactly what a plain scan for every phrase finds.
func TestTriageIndexAgreesWithScan(t *testing.T) {
	tr := loadTestTriage(t, []string{"custom words here", "stroke: a"})
	naive := func(text string) []string {
		s := foldText(text)
		var cats []string
		for _, p := range tr.phrases {
			if strings.Contains(s, p.text) {
				cats = append(cats, p.cats...)
			}
		}
		slices.Sort(cats)
		return slices.Compact(cats)
	}
	texts := []string{"", "a", "A.", "custom words here!", "custom words", triageBenchText()}
	for i, p := range tr.phrases {
		words := strings.TrimSpace(p.text)
		texts = append(texts, words, "x "+words+" y", words+words, strings.ToUpper(words)+"?", tr.phrases[(i*7)%len(tr.phrases)].text+words)
	}
	for _, text := range texts {
		_, got := tr.Match(text)
		if want := naive(text); !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Errorf("Match(%q) = %v, scan finds %v", text, got, want)
		}
	}
}
