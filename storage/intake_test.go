package storage

import (
	"errors"
	"slices"
	"testing"

	"frontdesk/forms"
)

// allNo answers every red-flag item "no".
func allNo(t *testing.T) forms.Answers {
	t.Helper()
	tpl, err := forms.Current(forms.EvaluationID)
	if err != nil {
		t.Fatal(err)
	}
	a := forms.Answers{"visit-reason": forms.Text("back pain")}
	for _, it := range tpl.RedFlagItems() {
		a[it.LinkID] = forms.No()
	}
	return a
}

func TestIntakeRedFlagsComputedAtEverySave(t *testing.T) {
	s := openTestStore(t, Options{Plaintext: true})
	p := mustCreate(t, s, Patient{GivenName: "Zoë", FamilyName: "Nguyễn", DateOfBirth: "1986-03-14"})
	other := mustCreate(t, s, Patient{GivenName: "Olga", FamilyName: "Petrova", DateOfBirth: "1970-05-06"})

	in := Intake{PatientID: p.ID, Answers: forms.Answers{"visit-reason": forms.Text("back pain")},
		RedFlags: forms.ScreenClear} // what the caller claims is ignored
	if err := s.CreateIntake(&in); err != nil {
		t.Fatal(err)
	}
	if in.ID == 0 || in.Version != 1 || in.Status != IntakeDraft || in.TemplateID != forms.EvaluationID || in.TemplateVersion != "1" {
		t.Fatalf("created intake: %+v", in)
	}
	if in.RedFlags != forms.ScreenIncomplete {
		t.Errorf("unanswered screen = %q, want incomplete", in.RedFlags)
	}
	if len(s.UrgentPatients()) != 0 {
		t.Errorf("UrgentPatients before any yes: %v", s.UrgentPatients())
	}

	in.Answers = allNo(t)
	in.Answers["rf-saddle-numbness"] = forms.Yes()
	in.Answers["rf-fever"] = forms.Yes()
	if err := s.UpdateIntake(&in); err != nil {
		t.Fatal(err)
	}
	if in.RedFlags != forms.ScreenUrgent || !slices.Equal(in.PositiveFlags, []string{"rf-saddle-numbness", "rf-fever"}) || in.Version != 2 {
		t.Errorf("after a yes: %q %v v%d", in.RedFlags, in.PositiveFlags, in.Version)
	}
	if got := s.UrgentPatients(); !got[p.ID] || got[other.ID] || len(got) != 1 {
		t.Errorf("UrgentPatients = %v, want only %d", got, p.ID)
	}

	// Completing an urgent intake needs a staff acknowledgement.
	in.Status = IntakeCompleted
	if err := s.UpdateIntake(&in); !errors.Is(err, ErrInvalid) {
		t.Errorf("completing an unacknowledged urgent intake: %v", err)
	}
	in.AcknowledgedBy = "Dana at the desk"
	if err := s.UpdateIntake(&in); err != nil {
		t.Fatal(err)
	}
	if in.AcknowledgedAt.IsZero() || in.Status != IntakeCompleted {
		t.Errorf("acknowledged: %+v", in)
	}

	// A stale copy conflicts and changes nothing.
	stale, _ := s.Intake(in.ID)
	stale.Version = 1
	stale.Answers = allNo(t)
	var conflict *IntakeConflictError
	if err := s.UpdateIntake(&stale); !errors.As(err, &conflict) || !errors.Is(err, ErrConflict) || conflict.Current.Version != in.Version {
		t.Fatalf("stale intake update: %v", err)
	}

	// Answering everything "no" clears the screen and the marker.
	in.Answers = allNo(t)
	if err := s.UpdateIntake(&in); err != nil {
		t.Fatal(err)
	}
	if in.RedFlags != forms.ScreenClear || len(in.PositiveFlags) != 0 || len(s.UrgentPatients()) != 0 {
		t.Errorf("all no: %q %v urgent=%v", in.RedFlags, in.PositiveFlags, s.UrgentPatients())
	}
	got, err := s.Intake(in.ID)
	if err != nil || got.Version != in.Version || got.RedFlags != forms.ScreenClear || got.Answers["visit-reason"].Text != "back pain" {
		t.Errorf("read back %+v, %v", got, err)
	}
}

func TestIntakeRules(t *testing.T) {
	s := openTestStore(t, Options{Plaintext: true})
	p := mustCreate(t, s, Patient{GivenName: "Zoë", FamilyName: "Nguyễn", DateOfBirth: "1986-03-14"})
	q := mustCreate(t, s, Patient{GivenName: "Olga", FamilyName: "Petrova", DateOfBirth: "1970-05-06"})
	tests := []struct {
		name string
		in   Intake
		want error
	}{
		{"no such patient", Intake{PatientID: 999}, ErrNotFound},
		{"no such form version", Intake{PatientID: p.ID, TemplateVersion: "99"}, ErrInvalid},
		{"no such status", Intake{PatientID: p.ID, Status: "lost"}, ErrInvalid},
		{"completed with red flags unanswered and no reason", Intake{PatientID: p.ID, Status: IntakeCompleted}, ErrInvalid},
		{"completed with a reason", Intake{PatientID: p.ID, Status: IntakeCompleted, IncompleteReason: "patient left early"}, nil},
		{"completed, all clear", Intake{PatientID: p.ID, Status: IntakeCompleted, Answers: allNo(t)}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.CreateIntake(&tt.in)
			if !errors.Is(err, tt.want) {
				t.Fatalf("CreateIntake: %v, want %v", err, tt.want)
			}
		})
	}
	in := Intake{PatientID: p.ID}
	if err := s.CreateIntake(&in); err != nil {
		t.Fatal(err)
	}
	moved := in
	moved.PatientID = q.ID
	if err := s.UpdateIntake(&moved); !errors.Is(err, ErrInvalid) {
		t.Errorf("moving an intake to another patient: %v", err)
	}
	ins, err := s.IntakesFor(p.ID)
	if err != nil || len(ins) != 3 || ins[0].ID != in.ID {
		t.Errorf("IntakesFor = %d intakes (newest %v), %v; want 3, newest first", len(ins), ins, err)
	}
	if ins, _ := s.IntakesFor(q.ID); len(ins) != 0 {
		t.Errorf("IntakesFor(other) = %v", ins)
	}
}

func TestUrgentPatientsSurviveReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{Plaintext: true})
	if err != nil {
		t.Fatal(err)
	}
	p := mustCreate(t, s, Patient{GivenName: "Zoë", FamilyName: "Nguyễn", DateOfBirth: "1986-03-14"})
	in := Intake{PatientID: p.ID, Answers: forms.Answers{"rf-bladder": forms.Yes()}}
	if err := s.CreateIntake(&in); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(dir, Options{Plaintext: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !s.UrgentPatients()[p.ID] {
		t.Error("urgent marker lost on reopen")
	}
	if err := s.DeletePatient(p.ID); !errors.Is(err, ErrHasIntakes) {
		t.Errorf("delete after reopen: %v", err)
	}
}

func TestIntakeAnswersMustFitTheForm(t *testing.T) {
	s := openTestStore(t, Options{Plaintext: true})
	p := Patient{GivenName: "Ana", FamilyName: "Souza", DateOfBirth: "1990-01-01"}
	if err := s.CreatePatient(&p); err != nil {
		t.Fatal(err)
	}
	for name, answers := range map[string]forms.Answers{
		"out of range":     {"nrs-now": forms.Int(11)},
		"unknown question": {"shoe-size": forms.Int(42)},
		"wrong kind":       {"rf-fever": forms.Text("maybe")},
	} {
		in := Intake{PatientID: p.ID, Answers: answers}
		err := s.CreateIntake(&in)
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: saved (err %v)", name, err)
		}
	}
	ok := Intake{PatientID: p.ID, Answers: forms.Answers{"nrs-now": forms.Int(7)}}
	if err := s.CreateIntake(&ok); err != nil {
		t.Fatalf("a valid draft was refused: %v", err)
	}
}
