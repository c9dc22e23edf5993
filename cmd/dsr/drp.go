package main

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/dsr-project/dsr/internal/config"
	"github.com/dsr-project/dsr/internal/database"
	"github.com/dsr-project/dsr/internal/drp"
	"github.com/dsr-project/dsr/internal/links"
	"github.com/dsr-project/dsr/internal/requestdb"
	"github.com/dsr-project/dsr/internal/requests"
)

// drpOptions loads the agent directory and describes dsr to agents; nil while the Data
// Rights Protocol is off. A directory that does not follow the protocol stops start.
func drpOptions(cfg config.Config) (*drp.Options, error) {
	if cfg.DRP.Agents == "" {
		return nil, nil
	}
	dir, err := drp.LoadDirectory(cfg.DRP.Agents)
	if err != nil {
		return nil, err
	}
	base := strings.TrimRight(cfg.PublicURL, "/")
	name := cfg.Organization
	if name == "" {
		name = cfg.DRP.BusinessID
	}
	business := drp.Business{
		ID: cfg.DRP.BusinessID, Name: name, APIBase: base, SupportedActions: drp.SupportedActions(),
		// Requests are matched by e-mail address, which dsr confirms itself.
		SupportedVerifications: []string{"email"},
		PrivacyPolicyURL:       cfg.PrivacyPolicyURL, TechnicalContact: cfg.DRP.Contact, BusinessContact: cfg.DRP.Contact,
	}
	if cfg.LogoFile != "" {
		logo := base + "/brand/logo"
		business.Logo = &logo
	}
	return &drp.Options{
		Directory: dir, BusinessID: cfg.DRP.BusinessID, Business: business,
		Links: links.Builder{Base: cfg.PublicURL, Secret: cfg.Secret},
	}, nil
}

// startDRPWork sends the status callbacks owed to agents and hands agents' identity claims
// to the requests that ask for them, until ctx ends, when the protocol is on; the directory
// is checked first, so a bad one stops a worker too.
func startDRPWork(ctx context.Context, cfg config.Config, db *database.DB, c client.Client, log *slog.Logger) error {
	if cfg.DRP.Agents == "" {
		return nil
	}
	if _, err := drp.LoadDirectory(cfg.DRP.Agents); err != nil {
		return err
	}
	repo := requestdb.New(db).WithResultKeys(cfg.Codec)
	l := links.Builder{Base: cfg.PublicURL, Secret: cfg.Secret}
	sender := &drp.Sender{Store: repo, Links: l, Client: &http.Client{Timeout: 30 * time.Second}, Log: log}
	feeder := &drp.IdentityFeeder{
		Store: repo, Log: log,
		Requests: requests.New(requests.Options{Store: repo, Engine: requests.NewTemporalEngine(c, cfg.TaskQueue), Secret: cfg.Secret, Links: l, Log: log}),
	}
	go sender.Run(ctx)
	go feeder.Run(ctx)
	log.Info("drp status callbacks and identity claims on", "agents", cfg.DRP.Agents)
	return nil
}
