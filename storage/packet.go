package storage

import (
	"fmt"
	"strings"
	"time"

	"frontdesk/forms"
)

// PacketInput gathers what an intake packet prints: the clinic's settings,
// the patient and, when intakeID is not 0, that intake with the template
// version it answered (a blank packet otherwise).
func (s *Store) PacketInput(patientID, intakeID uint64, at time.Time) (forms.PacketInput, error) {
	settings, err := s.Settings()
	if err != nil {
		return forms.PacketInput{}, err
	}
	p, err := s.Patient(patientID)
	if err != nil {
		return forms.PacketInput{}, err
	}
	in := forms.PacketInput{
		Clinic:    forms.Clinic{Name: settings.ClinicName, Address: settings.ClinicAddress, Phone: settings.ClinicPhone},
		Paper:     forms.Paper(settings.Paper),
		Patient:   p.PacketPatient(),
		PrintedAt: at,
	}
	if intakeID == 0 {
		return in, nil
	}
	intake, err := s.Intake(intakeID)
	if err != nil {
		return forms.PacketInput{}, err
	}
	if intake.PatientID != p.ID {
		return forms.PacketInput{}, &Error{Msg: fmt.Sprintf("intake %d belongs to patient %d, not to %s (%d)", intakeID, intake.PatientID, p.DisplayName(), p.ID)}
	}
	t, err := forms.Lookup(intake.TemplateID, intake.TemplateVersion)
	if err != nil {
		return forms.PacketInput{}, err
	}
	in.Template = t
	in.Intake = &forms.PacketIntake{
		ID: intake.ID, Template: t, Answers: intake.Answers, Status: string(intake.Status),
		AcknowledgedBy: intake.AcknowledgedBy, AcknowledgedAt: intake.AcknowledgedAt, IncompleteReason: intake.IncompleteReason,
	}
	return in, nil
}

// PacketPatient is the part of the patient a packet prints.
func (p Patient) PacketPatient() forms.PacketPatient {
	pp := forms.PacketPatient{
		ID: p.ID, GivenName: p.GivenName, FamilyName: p.FamilyName, PreferredName: p.PreferredName,
		DateOfBirth: p.DateOfBirth, Sex: p.Sex, Email: p.Email, Address: p.Address, Language: p.Language,
		// Notes are the front desk's own; patients read the packet, so they are not printed.
	}
	for _, ph := range p.Phones {
		s := ph.Number
		if ph.Label != "" {
			s = ph.Label + ": " + s
		}
		pp.Phones = append(pp.Phones, s)
	}
	e := p.Emergency
	var parts []string
	for _, s := range []string{e.Name, e.Relationship, e.Phone} {
		if s = strings.TrimSpace(s); s != "" {
			parts = append(parts, s)
		}
	}
	pp.EmergencyContact = strings.Join(parts, ", ")
	return pp
}
