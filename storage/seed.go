package storage

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"frontdesk/forms"
)

// demoCulture is a pool of names that belong together.
type demoCulture struct {
	language string
	given    []string
	family   []string
	cjk      bool     // family name first, no space
	latin    []string // email names for scripts an address cannot hold
}

var demoCultures = []demoCulture{
	{"English", []string{"Zoë", "Olivia", "James", "Liam", "Emma", "Noah", "Ava", "William", "Sophia", "Benjamin", "Charlotte", "Mason", "Amelia", "Ethan", "Harper", "Lucas", "Evelyn", "Henry", "Abigail", "Jack", "Chloé", "Renée"}, []string{"Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson", "Taylor", "Thomas", "Moore", "Martin", "Jackson", "Thompson", "White", "O'Brien", "Clarke-Hughes", "Harris", "Walker"}, false, nil},
	{"Spanish", []string{"José", "María", "Lucía", "Javier", "Sofía", "Andrés", "Inés", "Raúl", "Álvaro", "Begoña", "Íñigo", "Martín"}, []string{"Ñúñez", "García", "Rodríguez", "Martínez", "Hernández", "López", "González", "Pérez", "Sánchez", "Ramírez", "Fernández", "Gómez", "Díaz", "García-López"}, false, nil},
	{"Vietnamese", []string{"Anh", "Bảo", "Châu", "Dũng", "Hương", "Khánh", "Linh", "Minh", "Phương", "Quang", "Thảo", "Tuấn"}, []string{"Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ"}, false, nil},
	{"Chinese", []string{"小龙", "伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "洋", "艳"}, []string{"李", "王", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴"}, true, []string{"xiaolong", "wei", "fang", "na", "xiuying", "min", "jing", "li", "qiang", "lei"}},
	{"Russian", []string{"Ольга", "Наталья", "Сергей", "Алексей", "Дмитрий", "Екатерина", "Юлия", "Андрей", "Ирина", "Михаил"}, []string{"Иванова", "Смирнов", "Кузнецова", "Попов", "Соколова", "Лебедев", "Козлова", "Новиков", "Морозова", "Фёдоров"}, false, []string{"olga", "natalia", "sergey", "alexey", "dmitry", "ekaterina", "yulia", "andrey", "irina", "mikhail"}},
	{"Polish", []string{"Łukasz", "Małgorzata", "Wojciech", "Agnieszka", "Paweł", "Zofia", "Krzysztof", "Żaneta"}, []string{"Nowak", "Kowalski", "Wiśniewska", "Wójcik", "Kamińska", "Lewandowski", "Zieliński", "Szymańska", "Woźniak", "Dąbrowski"}, false, nil},
	{"German", []string{"Jürgen", "Jörg", "Käthe", "Günter", "Lena", "Lukas", "Anja", "Maximilian"}, []string{"Müller", "Schmidt", "Schneider", "Fischer", "Weiß", "Meyer", "Wagner", "Becker", "Schäfer", "Groß"}, false, nil},
	{"Danish", []string{"Søren", "Mette", "Bjørn", "Ærø", "Freja", "Mads"}, []string{"Jørgensen", "Sørensen", "Nielsen", "Hansen", "Pedersen", "Østergaard"}, false, nil},
	{"French", []string{"Zoé", "Hélène", "François", "Amélie", "Jérôme", "Cécile", "Noël", "Gaëlle"}, []string{"Dubois", "Lefèvre", "Moreau", "Girard", "Rousseau", "Bonnet", "Fontaine", "Mercier"}, false, nil},
	{"Japanese", []string{"陽翔", "結衣", "さくら", "蓮"}, []string{"佐藤", "鈴木", "高橋", "田中"}, true, []string{"haruto", "yui", "sakura", "ren", "sato", "suzuki"}},
}

var demoStreets = []string{"Main St", "Oak Ave", "Maple Rd", "Cedar Ln", "Elm St", "Park Blvd", "Lake Dr", "Hill Rd"}
var demoRelationships = []string{"spouse", "partner", "parent", "daughter", "son", "friend", "sibling"}
var demoReasons = []string{"Low back pain for months, worse when sitting at work.", "Pain down the left leg after lifting.", "Back stiffness in the morning, trouble sleeping.", "Physical therapy stalled; looking for another option.", "Pain since a fall last winter."}
var demoOutcomes = []string{"helped", "temporary", "no-change", "worse", "stalled"}
var demoDurations = []string{"lt6w", "6w-3m", "3m-1y", "gt1y"}
var demoLocations = []string{"low-back", "buttock-left", "buttock-right", "leg-left", "leg-right", "hip"}

// seedBatch is how many patients (each with an intake) one transaction writes.
const seedBatch = 5000

// Seed adds n synthetic demo patients (Demo: true), each with one
// evaluation intake, with names from many languages (Zoë, Nguyễn, 李小龙,
// Ольга, José Ñúñez, Łukasz, Søren…). The same seed gives the same people.
// It writes in large batches, so 100,000 patients take seconds.
func (s *Store) Seed(n int, seed int64) error {
	t, err := forms.Current(forms.EvaluationID)
	if err != nil {
		return &Error{Msg: err.Error(), Kind: ErrInvalid}
	}
	rng := rand.New(rand.NewPCG(uint64(seed), uint64(seed)^0x9e3779b97f4a7c15))
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	s.mu.Lock()
	s.idx.beginBatch()
	s.mu.Unlock()
	start := time.Now().UTC()
	for done := 0; done < n; {
		size := min(seedBatch, n-done)
		patients := make([]Patient, size)
		intakes := make([]Intake, size)
		for i := range patients {
			patients[i] = demoPatient(rng, start)
			intakes[i] = demoIntake(rng, t, start)
		}
		entries := make([]*entry, size)
		err := s.db.Update(func(tx *bolt.Tx) error {
			for i := range patients {
				e, err := s.unsafeInsertPatient(tx, &patients[i])
				if err != nil {
					return err
				}
				entries[i] = e
				intakes[i].PatientID = patients[i].ID
				if err := s.unsafeInsertIntake(tx, &intakes[i]); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		s.mu.Lock()
		for i := range patients {
			s.idx.putEntry(entries[i])
			s.idx.addIntake(intakes[i].ID, linkFor(&intakes[i]))
		}
		s.idx.finishBatch()
		s.mu.Unlock()
		done += size
	}
	return s.Audit(AuditEvent{Action: ActionCreate, RecordKind: RecordPatient, Detail: fmt.Sprintf("%d demo patients with intakes", n)})
}

func pick[T any](rng *rand.Rand, list []T) T { return list[rng.IntN(len(list))] }

func demoPhone(rng *rand.Rand) Phone {
	area := 201 + rng.IntN(780)
	exch := 200 + rng.IntN(800)
	line := rng.IntN(10000)
	number := fmt.Sprintf("(%03d) %03d-%04d", area, exch, line)
	return Phone{Label: pick(rng, []string{"mobile", "home", "work"}), Number: number, E164: fmt.Sprintf("+1%03d%03d%04d", area, exch, line)}
}

func demoPatient(rng *rand.Rand, now time.Time) Patient {
	c := pick(rng, demoCultures)
	p := Patient{
		GivenName:  pick(rng, c.given),
		FamilyName: pick(rng, c.family),
		Language:   c.language,
		Demo:       true,
		CreatedAt:  now,
		UpdatedAt:  now,
		Version:    1,
		Notes:      "Demo patient (synthetic data).",
	}
	dob := time.Date(1935, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, rng.IntN(73*365))
	p.DateOfBirth = dob.Format("2006-01-02")
	p.Sex = pick(rng, []string{"female", "male", "female", "male", "other", ""})
	p.Phones = []Phone{demoPhone(rng)}
	if rng.IntN(4) == 0 {
		p.Phones = append(p.Phones, demoPhone(rng))
	}
	if rng.IntN(10) < 7 {
		local := strings.ReplaceAll(fold(p.GivenName+"."+p.FamilyName), " ", "")
		if !isASCII(local) {
			local = pick(rng, c.latin) + "." + pick(rng, c.latin)
		}
		local = strings.ReplaceAll(local, "'", "")
		p.Email = fmt.Sprintf("%s.%d@example.com", local, rng.IntN(1_000_000))
	}
	p.Address = fmt.Sprintf("%d %s, Springfield", 1+rng.IntN(9999), pick(rng, demoStreets))
	p.Emergency = EmergencyContact{Name: pick(rng, c.given) + " " + p.FamilyName, Relationship: pick(rng, demoRelationships), Phone: demoPhone(rng).Number}
	return p
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// demoIntake answers the evaluation form: most screens clear, some urgent,
// some with red-flag items unanswered.
func demoIntake(rng *rand.Rand, t *forms.Template, now time.Time) Intake {
	a := forms.Answers{
		"visit-reason":  forms.Text(pick(rng, demoReasons)),
		"pain-location": forms.Codes(pick(rng, demoLocations)),
		"pain-duration": forms.Codes(pick(rng, demoDurations)),
		"nrs-now":       forms.Int(rng.IntN(11)),
		"nrs-worst":     forms.Int(rng.IntN(11)),
	}
	for _, k := range []string{"sitting", "standing", "exercise", "sleep", "work"} {
		a["interference-"+k] = forms.Int(rng.IntN(11))
	}
	for _, k := range []string{"pt", "injections", "medication", "imaging"} {
		if rng.IntN(2) == 0 {
			a["tried-"+k+"-done"] = forms.Yes()
			a["tried-"+k+"-outcome"] = forms.Codes(pick(rng, demoOutcomes))
		} else {
			a["tried-"+k+"-done"] = forms.No()
		}
	}
	roll := rng.IntN(100)
	for i, it := range t.RedFlagItems() {
		switch {
		case roll < 4 && i == roll: // urgent
			a[it.LinkID] = forms.Yes()
		case roll >= 4 && roll < 12 && i%3 == 0: // incomplete
		default:
			a[it.LinkID] = forms.No()
		}
	}
	in := Intake{TemplateID: t.ID, TemplateVersion: t.Version, Answers: a, Status: IntakeCompleted, Demo: true}
	screen := forms.ScreenRedFlags(t, a)
	in.RedFlags = screen.Status
	for _, it := range screen.Positive {
		in.PositiveFlags = append(in.PositiveFlags, it.LinkID)
	}
	switch screen.Status {
	case forms.ScreenUrgent:
		in.AcknowledgedBy, in.AcknowledgedAt = "Demo Staff", now
	case forms.ScreenIncomplete:
		in.Status = IntakeDraft
	}
	in.CreatedAt, in.UpdatedAt, in.Version = now, now, 1
	return in
}
