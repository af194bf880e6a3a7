package idp_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/brigadeplatform/brigade/internal/idp"
)

// fakeGitHub serves GitHub's OAuth endpoints and the two API calls a login
// makes, for user "octo" in organisation "brigade-org".
func fakeGitHub(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login/oauth/authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("client_id") != "gh-client" || q.Get("scope") != "read:org" || q.Get("code_challenge_method") != "S256" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		http.Redirect(w, r, redirect+"?code=good-code&state="+q.Get("state"), http.StatusFound)
	})
	mux.HandleFunc("POST /login/oauth/access_token", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		w.Header().Set("Content-Type", "application/json")
		if r.PostForm.Get("client_secret") != "gh-secret" || r.PostForm.Get("code") != "good-code" || r.PostForm.Get("code_verifier") == "" {
			json.NewEncoder(w).Encode(map[string]string{"error": "bad_verification_code", "error_description": "The code passed is incorrect or expired."})
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"access_token": "gho_token"})
	})
	api := func(body any) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer gho_token" {
				http.Error(w, `{"message":"Bad credentials"}`, http.StatusUnauthorized)
				return
			}
			json.NewEncoder(w).Encode(body)
		}
	}
	mux.HandleFunc("GET /api/user", api(map[string]string{"login": "octo", "name": "Octo Cat"}))
	mux.HandleFunc("GET /api/user/orgs", api([]map[string]string{{"login": "Brigade-Org"}}))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestGitHubLogin(t *testing.T) {
	srv := fakeGitHub(t)
	for name, tc := range map[string]struct {
		orgs    []string
		secret  string
		want    idp.Identity
		refusal string
	}{
		"any account":         {want: idp.Identity{ID: "octo", Name: "Octo Cat"}},
		"a member":            {orgs: []string{"elsewhere", "brigade-org"}, want: idp.Identity{ID: "octo", Name: "Octo Cat"}},
		"not a member":        {orgs: []string{"elsewhere"}, refusal: "not a member"},
		"wrong client secret": {secret: "nope", refusal: "incorrect or expired"},
	} {
		t.Run(name, func(t *testing.T) {
			secret := tc.secret
			if secret == "" {
				secret = "gh-secret"
			}
			g, err := idp.NewGitHub(idp.GitHubConfig{ClientID: "gh-client", ClientSecret: secret, AllowedOrgs: tc.orgs,
				WebURL: srv.URL, APIURL: srv.URL + "/api"})
			if err != nil {
				t.Fatal(err)
			}
			l := idp.Derive([]byte("k"), "st")
			id, err := login(t, g, l, l)
			if tc.refusal != "" {
				checkRefused(t, id, err, tc.refusal)
				return
			}
			if err != nil || id != tc.want {
				t.Fatalf("got %+v, %v; want %+v", id, err, tc.want)
			}
		})
	}
	if _, err := idp.NewGitHub(idp.GitHubConfig{ClientID: "x"}); err == nil || !strings.Contains(err.Error(), "client secret") {
		t.Errorf("a GitHub config without a secret: %v", err)
	}
}
